// Plugin runs, discoveries and iSCSI logins each log one line naming the host and the MAC (issue
// #15), and none carries the CHAP secret (nor a wrong one an initiator tried). A real frontend on
// loopback with the embedded target; the node is 127.0.0.2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createFrontend } from '../../src/app/frontend.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/logger.js';
import { frontendOverrides } from '../helpers/frontend.js';
import { tempStateDir } from '../helpers/tmp.js';
import { TestInitiator } from '../iscsi/helpers/initiator.js';
import { waitFor } from '../helpers/wait.js';

const MAC = '52:54:00:cc:00:01';
const WRONG = 'Wrong0123456789a';

test('plugin run, discovery, iSCSI session up and login refused: host and mac on each line, no secret', async () => {
  const dir = tempStateDir('nrt-app-log-');
  const raw: string[] = [];
  const f = createFrontend(loadConfig({ env: {}, overrides: frontendOverrides(dir) }), { logger: createLogger({ format: 'json', write: (l) => raw.push(l) }) });
  await f.start();
  try {
    const lines = () => raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    await f.engine.addHost({ name: 'compute-0-0', appliance: 'compute-diskless', mac: MAC, ip: '127.0.0.2' });
    const runs = lines().filter((r) => r['msg'] === 'plugin run');
    assert.ok(runs.length >= 2, raw.join('\n'));
    for (const r of runs) assert.deepEqual([r['level'], r['hook'], r['host'], r['mac']], ['info', 'added', 'compute-0-0', MAC]);
    assert.ok(
      runs.some((r) => /iscsi/.test(String(r['plugin']))),
      'the iSCSI allocation plugin ran',
    );

    f.hub.report({ mac: '52:54:00:cc:00:99', interfaceName: 'eth1' });
    const d = lines().find((r) => r['msg'] === 'discovery: DISCOVER from an unknown machine');
    assert.ok(d, raw.join('\n'));
    assert.deepEqual([d['level'], d['host'], d['mac'], d['iface']], ['info', null, '52:54:00:cc:00:99', 'eth1']);

    const a = Object.fromEntries((await f.store.attributes.list({ scope: 'host', target: 'compute-0-0' })).map((x) => [x.name, x.value]));
    const secret = a['iscsi_secret']!;
    assert.ok(secret.length >= 12);
    for (const [pass, shouldLogIn] of [
      [secret, true],
      [WRONG, false],
    ] as const) {
      const ini = await TestInitiator.connect(f.storage.iscsiPort(), '127.0.0.1', '127.0.0.2');
      try {
        const l = await ini.login({ initiator: a['iscsi_initiator']!, target: a['iscsi_target']!, chap: { user: a['iscsi_user']!, secret: pass } });
        assert.equal(l.statusClass === 0, shouldLogIn);
      } finally {
        ini.close();
      }
    }
    await waitFor(() => lines().some((r) => r['msg'] === 'iscsi: login refused'), { what: 'the login refused line' });
    const up = lines().find((r) => r['msg'] === 'iscsi: session up')!;
    assert.deepEqual(
      [up['level'], up['svc'], up['host'], up['mac'], up['initiator'], up['target']],
      ['info', 'iscsi', 'compute-0-0', MAC, a['iscsi_initiator'], a['iscsi_target']],
    );
    const refused = lines().find((r) => r['msg'] === 'iscsi: login refused')!;
    assert.deepEqual([refused['level'], refused['host'], refused['mac'], refused['status']], ['info', 'compute-0-0', MAC, '0x0201']);

    const all = raw.join('\n');
    assert.ok(!all.includes(secret), 'no CHAP secret in any line');
    assert.ok(!all.includes(WRONG), 'no tried secret in any line');
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
