// Rocks' traversal and <order> semantics on netroot's own fixture (test/fixtures/rocks-order): the
// expected node lists are what Rocks' algorithm (rocks/profile.py FrameworkIterator and
// OrderIterator, commands/list/node/xml) gives for the same graph and attributes, computed by
// running that algorithm outside this repository (dict order = first appearance, see graph.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { tree, node, graph } from './helpers.js';
import { ProfileCompiler } from '../../src/profile/index.js';

const FIXTURE = 'test/fixtures/rocks-order';
const compiler = new ProfileCompiler({ rolesDir: join(FIXTURE, 'roles'), graphsDir: join(FIXTURE, 'graphs'), graph: 'default' });

const CASES: Array<[string, Record<string, string>, string[]]> = [
  // x11 unset: x11 (reached by an attribute-form edge with a false cond) is dropped, its child fonts
  // stays; gpu unset: the child-form edge to cuda is pruned, cuda-libs never reached.
  [
    'appliance',
    { arch: 'x86_64', os: 'linux', rocks_version_major: '7' },
    ['partition', 'base', 'ssh', 'fonts', 'alpha', 'gamma', 'first', 'mid', 'beta', 'appliance', 'client', 'zeta', 'omega', 'last'],
  ],
  [
    'appliance',
    { arch: 'x86_64', os: 'linux', x11: 'yes', gpu: 'on', rocks_version_major: '7' },
    ['partition', 'base', 'ssh', 'fonts', 'alpha', 'gamma', 'first', 'mid', 'beta', 'appliance', 'client', 'cuda', 'cuda-libs', 'x11', 'zeta', 'omega', 'last'],
  ],
  // arch not in the <to arch> list: client pruned with base and ssh; rocks_version_major 6: no cuda.
  [
    'appliance',
    { arch: 'armv7hl', os: 'sunos', gpu: 'yes', rocks_version_major: '6' },
    ['partition', 'fonts', 'alpha', 'gamma', 'first', 'mid', 'beta', 'appliance', 'zeta', 'omega', 'last'],
  ],
  // "7.0" is the float 7.0 (>= 7); "true" is True; "no" is False.
  [
    'appliance',
    { arch: 'aarch64', os: 'linux', x11: 'no', gpu: 'true', rocks_version_major: '7.0' },
    ['partition', 'base', 'ssh', 'fonts', 'alpha', 'gamma', 'first', 'mid', 'beta', 'appliance', 'client', 'cuda', 'cuda-libs', 'zeta', 'omega', 'last'],
  ],
  [
    'appliance',
    { arch: 'x86_64', os: 'linux', gpu: 'yes', rocks_version_major: '10' },
    ['partition', 'base', 'ssh', 'fonts', 'alpha', 'gamma', 'first', 'mid', 'beta', 'appliance', 'client', 'cuda', 'cuda-libs', 'zeta', 'omega', 'last'],
  ],
  // os=rhel: the attribute-form edge client → ssh (os="linux") is followed but ssh is dropped.
  [
    'appliance',
    { arch: 'x86_64', os: 'rhel', x11: 'off', rocks_version_major: '7' },
    ['partition', 'base', 'fonts', 'alpha', 'gamma', 'first', 'mid', 'beta', 'appliance', 'client', 'zeta', 'omega', 'last'],
  ],
  ['client', { arch: 'x86_64', os: 'linux' }, ['base', 'ssh', 'client']],
];

test('Rocks order on the fixture: HEAD, TAIL, chained orders through an untraversed node, edge filters in both forms', () => {
  assert.deepEqual(compiler.check(), []);
  for (const [root, attrs, want] of CASES) assert.deepEqual(compiler.traverse(root, attrs), want, `${root} ${JSON.stringify(attrs)}`);
});

test('Rocks order on the fixture: the constraints hold in every rendered kickstart (script order = node order)', () => {
  for (const [root, attrs, want] of CASES) {
    const ks = compiler.render(root, { ...attrs, hostname: 'n-0-0' });
    const posts = [...ks.matchAll(/^echo ([\w-]+)$/gm)].map((m) => m[1]);
    assert.deepEqual(posts, want);
    const at = (n: string) => posts.indexOf(n);
    if (posts.includes('partition')) assert.equal(at('partition'), 0, 'partition → HEAD puts it first');
    // first → mid → not-traversed → beta: the chain binds mid before beta.
    if (root === 'appliance') {
      assert.ok(at('first') < at('mid') && at('mid') < at('beta'));
      assert.ok(at('fonts') < at('alpha'));
      assert.ok(at('gamma') < at('appliance'), 'gamma → TAIL: before the TAIL slot');
      assert.deepEqual(posts.slice(-2), ['omega', 'last'], 'TAIL → last, TAIL → omega: after the TAIL slot');
    }
    if (posts.includes('ssh')) assert.ok(at('base') < at('ssh'));
  }
});

test('order gen: an <order gen="other"> drops the node it reaches, gen="kgen" keeps it (Rocks)', () => {
  const t = tree({
    'roles/r/root.xml': node('<post>echo root</post>'),
    'roles/r/a.xml': node('<post>echo a</post>'),
    'roles/r/b.xml': node('<post>echo b</post>'),
    'graphs/g/g.xml': graph('<edge from="root"><to>a</to><to>b</to></edge>\n<order head="HEAD"><tail gen="kgen">a</tail><tail gen="sunos">b</tail></order>'),
  });
  assert.deepEqual(t.compiler.traverse('root', { arch: 'x86_64' }), ['a', 'root']);
  rmSync(t.dir, { recursive: true });
});
