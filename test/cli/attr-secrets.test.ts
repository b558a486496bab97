// `attr list` masks secret attributes (CHAP secrets, passwords, tokens) in every form — host
// resolution, scoped and global lists, table and JSON — unless --show-secrets is given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { cli } from '../helpers/cli.js';
import { tempStateDir } from '../helpers/tmp.js';

const SECRET = 'Chap-Secret-0123456789';
const PASSWORD = '$6$salt$crypted-hash';

test('attr list shows ******** for secret attributes unless --show-secrets', async () => {
  const dir = tempStateDir();
  try {
    const ok = async (...a: string[]) => {
      const r = await cli(dir, ...a);
      assert.equal(r.code, 0, r.err);
      return r.out;
    };
    await ok('host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01', '--ip', '10.1.255.254');
    await ok('attr', 'set', 'iscsi_secret', SECRET, '--host', 'compute-0-0');
    await ok('attr', 'set', 'Kickstart_RootPassword_Crypted', PASSWORD, '--appliance', 'compute');
    await ok('attr', 'set', 'Kickstart_Timezone', 'Asia/Tokyo');
    const views = [
      ['attr', 'list', '--host', 'compute-0-0'],
      ['attr', 'list', '--host', 'compute-0-0', '--json'],
      ['attr', 'list'],
      ['attr', 'list', '--json'],
      ['attr', 'list', '--appliance', 'compute', '--json'],
    ];
    for (const v of views) {
      const out = await ok(...v);
      assert.ok(!out.includes(SECRET) && !out.includes(PASSWORD), `${v.join(' ')} shows no secret:\n${out}`);
      assert.ok(out.includes('********'), `${v.join(' ')} shows the mask`);
      if (!v.includes('--appliance')) assert.ok(out.includes('Asia/Tokyo'), 'other values are shown');
    }
    const host = JSON.parse(await ok('attr', 'list', '--host', 'compute-0-0', '--json')) as Array<{ name: string; value: string }>;
    assert.equal(host.find((a) => a.name === 'iscsi_secret')?.value, '********');
    const all = await ok('attr', 'list', '--host', 'compute-0-0', '--show-secrets');
    assert.ok(all.includes(SECRET) && all.includes(PASSWORD), '--show-secrets shows them');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
