// Every filter (arch, os, release, cond) on every element that takes one (package, pre, post,
// <main>, a <main> command, <file>, <edge>, an edge's <to>, <order>), each with a value that passes
// and one that fails, rendered through the whole compiler: the kickstart says which survived.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tree, node, graph } from './helpers.js';

const HOST = { hostname: 'c-0-0', arch: 'x86_64', os: 'linux', release: '9', gpu: 'yes', appliance: 'root' };
// Per filter: [value that matches HOST, value that does not].
const FILTERS: Record<string, [string, string]> = {
  arch: ['aarch64, x86_64', 'aarch64'],
  os: ['linux', 'sunos'],
  release: ['8,9', '8'],
  cond: ["gpu and hostname == 'c-0-0'", 'not gpu'],
};
const cases = Object.entries(FILTERS).flatMap(([f, [yes, no]]) => [
  { f, v: yes, want: true, id: `${f}-pass` },
  { f, v: no, want: false, id: `${f}-fail` },
]);
const attr = (f: string, v: string) => `${f}="${v.replace(/"/g, '&quot;')}"`;

test('every filter on every element: matching values keep it, others drop it', () => {
  const body = cases
    .map(
      ({ f, v, id }) => `
  <package ${attr(f, v)}>pkg-${id}</package>
  <pre ${attr(f, v)}>echo pre-${id}</pre>
  <post ${attr(f, v)}>echo post-${id}</post>
  <main ${attr(f, v)}><firewall>--service=main-${id}</firewall></main>
  <main><selinux ${attr(f, v)}>--label=cmd-${id}</selinux></main>
  <post><file name="/etc/file-${id}" ${attr(f, v)}>x</file></post>`,
    )
    .join('\n');
  const edgeTargets = cases.flatMap(({ id }) => [`edge-${id}`, `to-${id}`]);
  const files: Record<string, string> = {
    'roles/r/root.xml': node(body),
    ...Object.fromEntries(edgeTargets.map((n) => [`roles/r/${n}.xml`, node(`<post>echo node-${n}</post>`)])),
    'graphs/g/g.xml': graph(
      cases.map(({ f, v, id }) => `<edge from="root" to="edge-${id}" ${attr(f, v)}/>\n<edge from="root"><to ${attr(f, v)}>to-${id}</to></edge>`).join('\n'),
    ),
  };
  const { dir, compiler } = tree(files);
  try {
    const ks = compiler.render('root', HOST);
    const pkgs = ks.split('%packages --ignoremissing\n')[1]!.split('%end')[0]!;
    for (const { id, want } of cases) {
      const seen = {
        package: new RegExp(`^pkg-${id}$`, 'm').test(pkgs),
        pre: new RegExp(`^%pre\\necho pre-${id}\\n%end$`, 'm').test(ks),
        post: new RegExp(`^%post\\necho post-${id}\\n%end$`, 'm').test(ks),
        main: new RegExp(`^firewall --service=main-${id}$`, 'm').test(ks),
        'main command': new RegExp(`^selinux --label=cmd-${id}$`, 'm').test(ks),
        file: ks.includes(`'/etc/file-${id}'`),
        edge: ks.includes(`echo node-edge-${id}`),
        'edge <to>': ks.includes(`echo node-to-${id}`),
      };
      for (const [element, present] of Object.entries(seen)) assert.equal(present, want, `${element} with ${id}`);
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('every filter on <order>: a passing order constrains, a failing one is ignored', () => {
  for (const { f, v, want, id } of cases) {
    // Alphabetically a-node < b-node; the order says b-node first.
    const { dir, compiler } = tree({
      'roles/r/root.xml': node('<post>echo root</post>'),
      'roles/r/a-node.xml': node('<post>echo a</post>'),
      'roles/r/b-node.xml': node('<post>echo b</post>'),
      'graphs/g/g.xml': graph(`<edge from="root"><to>a-node</to><to>b-node</to></edge>\n<order head="b-node" tail="a-node" ${attr(f, v)}/>`),
    });
    try {
      const order = compiler.traverse('root', HOST);
      assert.deepEqual(order, want ? ['b-node', 'a-node', 'root'] : ['a-node', 'b-node', 'root'], id);
    } finally {
      rmSync(dir, { recursive: true });
    }
  }
});

test('filters on an edge and on its <to>/<from> children are AND-ed', () => {
  const { dir, compiler } = tree({
    'roles/r/root.xml': node(''),
    'roles/r/both.xml': node(''),
    'roles/r/only-child.xml': node(''),
    'roles/r/only-edge.xml': node(''),
    'roles/r/from-child.xml': node(''),
    'graphs/g/g.xml': graph(`
      <edge from="root" os="linux"><to cond="gpu">both</to><to cond="not gpu">only-edge</to></edge>
      <edge from="root" os="sunos"><to cond="gpu">only-child</to></edge>
      <edge to="from-child" release="9"><from arch="x86_64">root</from></edge>`),
  });
  try {
    assert.deepEqual(compiler.traverse('root', HOST), ['both', 'from-child', 'root']);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('arch/os/release of an edge and its child (or a <main> and its command) intersect: the child cannot widen them', () => {
  const { dir, compiler } = tree({
    'roles/r/root.xml': node(`<main os="linux"><firewall os="sunos">--narrowed-away</firewall><selinux os="linux,sunos">--kept</selinux></main>
<main arch="x86_64"><network arch="aarch64,x86_64">--kept-too</network></main>`),
    'roles/r/never.xml': node(''),
    'roles/r/yes.xml': node(''),
    'graphs/g/g.xml': graph(
      '<edge from="root" arch="x86_64"><to arch="aarch64">never</to></edge>\n<edge from="root" arch="x86_64,aarch64"><to arch="x86_64">yes</to></edge>',
    ),
  });
  try {
    assert.deepEqual(compiler.traverse('root', HOST), ['root', 'yes']);
    const ks = compiler.render('root', HOST);
    assert.doesNotMatch(ks, /narrowed-away/);
    assert.match(ks, /^selinux --kept$/m);
    assert.match(ks, /^network --kept-too$/m);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
