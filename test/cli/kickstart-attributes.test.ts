// `netroot kickstart HOST` refuses an attribute value that would make an invalid kickstart: exit 2,
// `netroot: <attribute>: ...` on stderr, nothing on stdout, never a secret's value; the golden
// kickstarts of the shipped appliances still print unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { addGoldenHosts, cli, cliOk, tempStateDir, GOLDEN_ISCSI as ISCSI, PREVIEW_TOKEN as PREVIEW } from '../helpers/cli.js';
import { openStore } from '../../src/store/index.js';
import { BAD_VALUES, secretPieces } from '../profile/kickstart-bad-values.js';

test('netroot kickstart: a bad attribute value exits 2 naming it, never echoing a secret', async () => {
  const dir = tempStateDir();
  try {
    const ok = cliOk(dir);
    await addGoldenHosts(ok);
    const golden = async () => {
      assert.equal(
        (await ok('kickstart', 'compute-0-0')).replaceAll(PREVIEW, 'GOLDEN-TOKEN-compute'),
        readFileSync('test/golden/kickstart/compute.ks', 'utf8'),
      );
      assert.equal(
        (await ok('kickstart', 'compute-0-1')).replaceAll(PREVIEW, 'GOLDEN-TOKEN-diskless'),
        readFileSync('test/golden/kickstart/compute-diskless.ks', 'utf8'),
      );
    };
    await golden();
    const host = (h: string) => (h === 'compute-0-1' ? ISCSI : {}) as Record<string, string>;
    for (const bad of BAD_VALUES) {
      await ok('attr', 'set', bad.name, bad.value, '--host', bad.host);
      const r = await cli(dir, 'kickstart', bad.host);
      assert.equal(r.code, 2, `${bad.name}: ${r.err}`);
      assert.equal(r.out, '', 'no kickstart is printed');
      assert.ok(r.err.startsWith(`netroot: ${bad.name}: the value `), r.err);
      assert.match(r.err, /\.xml:\d+\)\n$/, 'names the role line');
      if (bad.secret) for (const p of secretPieces(bad.value)) assert.ok(!r.err.includes(p), `${r.err} shows ${p}`);
      else assert.ok(r.err.includes(JSON.stringify(bad.value)), r.err);
      // Back to the good value (the diskless host's own iSCSI attribute, else the default).
      const good = host(bad.host)[bad.name];
      if (good === undefined) await ok('attr', 'unset', bad.name, '--host', bad.host);
      else await ok('attr', 'set', bad.name, good, '--host', bad.host);
    }
    await golden();
    // An invalid host name cannot be added through the CLI; a store that has one still gets no kickstart.
    const store = openStore(dir);
    await store.hosts.add({ name: 'compute_0_9', appliance: 'compute', rack: 0, rank: 9, interfaces: [] });
    await store.close();
    const r = await cli(dir, 'kickstart', 'compute_0_9');
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /^netroot: hostname: the value "compute_0_9" is not a host name; network --hostname= takes a host name/);
    assert.equal(r.out, '');
  } finally {
    rmSync(dir, { recursive: true });
  }
});
