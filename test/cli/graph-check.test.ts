// `netroot graph check` on a broken tree (test/fixtures/broken-profile, plus a huge file, a broken
// site extend- file and an appliance whose root node has no file, added here) reports every
// problem at once — each by code and file:line — and exits 2; `--json` gives the same list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cli, tempStateDir } from '../helpers/cli.js';
import { openStore } from '../../src/store/index.js';

const EXPECTED = [
  ['E_XML_ENTITY', 'roles/r/bomb.xml:2'],
  ['E_FILE_TOO_LARGE', 'roles/r/huge.xml'],
  ['E_XML_MALFORMED', 'roles/r/malformed.xml:5'],
  ['E_COND_SYNTAX', 'roles/r/tags.xml:3'],
  ['E_XML_UNKNOWN_TAG', 'roles/r/tags.xml:4'],
  ['E_XML_FILE_NAME', 'roles/r/tags.xml:6'],
  ['E_XML_UNKNOWN_ATTR', 'roles/r/tags.xml:8'],
  ['E_XML_UNKNOWN_TAG', 'site/extend-root.xml:3'],
  ['E_COND_SYNTAX', 'graphs/default/one.xml:5'],
  ['E_GRAPH_EDGE', 'graphs/default/two.xml:4'],
  ['E_GRAPH_TAG', 'graphs/default/two.xml:5'],
  ['E_GRAPH_UNKNOWN_NODE', 'graphs/default/one.xml:4'],
  ['E_GRAPH_UNKNOWN_NODE', 'graphs/default/two.xml:3'],
  ['E_GRAPH_CYCLE', 'graphs/default/one.xml:6'],
  ['E_NODE_MISSING', 'appliance lost'],
];

test('graph check: every problem of the broken fixture at once, by code and file:line; exit 2; --json alike', async () => {
  const dir = tempStateDir('nrt-check-');
  try {
    const tree = join(dir, 'tree');
    cpSync('test/fixtures/broken-profile', tree, { recursive: true });
    writeFileSync(join(tree, 'roles', 'r', 'huge.xml'), `<kickstart><post>${'x'.repeat(1024 * 1024 + 1)}</post></kickstart>`);
    mkdirSync(join(tree, 'site'));
    writeFileSync(join(tree, 'site', 'extend-root.xml'), '<?xml version="1.0"?>\n<kickstart>\n<pakage>typo</pakage>\n</kickstart>\n');
    const store = openStore(dir);
    await store.appliances.add({ name: 'lost', basename: 'lost', graph: 'default', rootNode: 'no-such-node', discoverable: false });
    await store.close();
    const flags = [
      '--set',
      `profile.rolesDir=${join(tree, 'roles')}`,
      '--set',
      `profile.graphsDir=${join(tree, 'graphs')}`,
      '--set',
      `profile.siteDir=${join(tree, 'site')}`,
    ];
    // compute and compute-diskless (shipped appliances) have no root node in this tree either.
    const expected = [...EXPECTED, ['E_NODE_MISSING', 'appliance compute'], ['E_NODE_MISSING', 'appliance compute-diskless']];
    const rel = (w: string | null) => (w === null ? '' : w.startsWith('/') ? relative(tree, w) : w);
    const r = await cli(dir, ...flags, 'graph', 'check', '--json');
    assert.equal(r.code, 2, r.err);
    const got = (JSON.parse(r.out) as Array<{ code: string; where: string | null; message: string }>).map((p) => [p.code, rel(p.where)]);
    const key = (x: string[]) => x.join(' ');
    assert.deepEqual(got.map(key).sort(), expected.map(key).sort());
    const text = await cli(dir, ...flags, 'graph', 'check');
    assert.equal(text.code, 2);
    assert.match(text.err, new RegExp(`^netroot: ${expected.length} problem\\(s\\) in the graph:\\n`));
    for (const [, where] of expected) assert.ok(text.err.includes(where!.startsWith('appliance') ? where! : join(tree, where!)), `${where} in the report`);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
