// A roll of our own with more than 100 node files written in Rocks' styles (CVS changelogs,
// single-quoted filters, entity-encoded conds, <file> with perms/owner/append, <configure> and
// <service> tags, an obsolete <main> command), generated here, with a graph using every edge and
// order form. Every appliance renders a kickstart the RHEL 9 grammar accepts, in an order that keeps
// every <order> constraint; a broken file no appliance reaches blocks nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tree } from './helpers.js';
import { kickstartProblems } from './kickstart-grammar.js';

const FEATURES = 20;
const SERVICES = 4;

function nodeXml(name: string, body: string): string {
  return `<?xml version="1.0" standalone="no"?>
<kickstart roll="big" interface="public">
  <description>
  The ${name} node of our generated roll.
  </description>
  <copyright>
  netroot test fixture
  </copyright>
  <changelog>
  $Log: ${name}.xml,v $
  Revision 1.2  2026/01/01 00:00:00  netroot
  generated
  </changelog>
${body}
</kickstart>
`;
}

function roll(): Record<string, string> {
  const files: Record<string, string> = {};
  const put = (name: string, body: string) => (files[`roles/big/${name}.xml`] = nodeXml(name, body));
  for (const app of ['compute', 'nas', 'login']) put(app, `  <package>${app}-tools</package>\n  <post>echo node ${app}</post>`);
  put('client', `  <package os='linux'>rocks-client</package>\n  <package os='sunos'>SUNWclient</package>\n  <post>
<file name="/etc/hosts" mode="append" owner="root.root" perms="0644">
&Kickstart_PrivateAddress;	&Kickstart_PrivateHostname;.&Kickstart_PrivateDNSDomain; &Kickstart_PrivateHostname;
</file>
echo node client
</post>`);
  put('base', `  <main>
    <lang>&Kickstart_Lang;</lang>
    <keyboard>&Kickstart_Keyboard;</keyboard>
    <timezone>&Kickstart_Timezone; --utc</timezone>
    <interactive/>
    <rootpw>--lock</rootpw>
    <reboot/>
  </main>
  <package type="meta">core</package>
  <package disable="true">firewalld</package>
  <post cond="rocks_version_major &gt;= 7">echo node base</post>
  <post cond="rocks_version_major &lt; 7">echo node base-old</post>`);
  for (let i = 0; i < FEATURES; i++) {
    put(`feature-${i}`, `  <package>feature-${i}</package>\n  <configure phase="reconfigure">echo reconfigure ${i}</configure>\n  <post>\necho node feature-${i}\n<service name="feature-${i}" enabled="yes"/>\n</post>`);
    for (let j = 0; j < SERVICES; j++) {
      put(`svc-${i}-${j}`, `  <package arch="x86_64,aarch64">svc-${i}-${j}</package>\n  <post>
<file name="/etc/svc/${i}-${j}.conf" perms="u+rw,go-rwx" owner="root:root" vars="expanded">
host=&hostname; rack=&rack; rank=&rank;
</file>
echo node svc-${i}-${j}
</post>`);
    }
  }
  put('x11', '  <package>xorg-x11-server-Xorg</package>\n  <post>echo node x11</post>');
  put('fonts', '  <package>dejavu-fonts</package>\n  <post>echo node fonts</post>');
  put('gpu', '  <package>cuda</package>\n  <post>echo node gpu</post>');
  put('partition', '  <pre>echo node partition</pre>\n  <main><zerombr/><clearpart>--all --initlabel</clearpart><autopart>--type=plain</autopart></main>');
  put('install-final', '  <post>echo node install-final</post>');
  put('sunos-only', '  <post>echo node sunos-only</post>');
  // Broken, and on no appliance's way.
  files['roles/big/broken.xml'] = '<?xml version="1.0"?>\n<kickstart>\n<post>\n</kickstart>\n';
  const edges: string[] = [];
  for (const app of ['compute', 'nas', 'login']) edges.push(`<edge from="${app}"><to>client</to><to>partition</to><to>install-final</to></edge>`);
  edges.push('<edge to="base"><from>client</from></edge>');
  edges.push(`<edge from="base">\n${Array.from({ length: FEATURES }, (_, i) => `  <to>feature-${i}</to>`).join('\n')}\n</edge>`);
  for (let i = 0; i < FEATURES; i++) for (let j = 0; j < SERVICES; j++) edges.push(`<edge from="feature-${i}" to="svc-${i}-${j}"/>`);
  edges.push('<edge from="login" to="x11" cond="x11"/>', '<edge from="x11" to="fonts"/>');
  edges.push('<edge from="compute"><to cond="gpu and rocks_version_major &gt;= 7">gpu</to></edge>');
  edges.push('<edge from="client"><to os="sunos">sunos-only</to></edge>');
  edges.push('<edge from="elsewhere" to="broken"/>');
  const orders = [
    // Rocks' way to put a node first: before HEAD (HEAD → x only puts x after HEAD; the roots Rocks
    // hangs under HEAD later come before it).
    '<order tail="HEAD"><head>partition</head></order>',
    '<order head="partition"><tail>base</tail></order>',
    '<order head="base" tail="not-in-any-roll"/>',
    '<order head="not-in-any-roll" tail="client"/>',
    '<order tail="TAIL"><head>feature-0</head></order>',
    '<order head="TAIL"><tail>install-final</tail></order>',
    ...Array.from({ length: FEATURES - 1 }, (_, i) => `<order head="feature-${i + 1}" tail="feature-${i}"/>`),
    '<order head="fonts" tail="x11"/>',
  ];
  files['graphs/g/big.xml'] = `<?xml version="1.0" standalone="no"?>\n<graph roll="big">\n${[...orders, ...edges].join('\n')}\n</graph>\n`;
  return files;
}

const ATTRS = {
  arch: 'x86_64', os: 'linux', release: '9', rocks_version_major: '7', rack: '0', rank: '3',
  Kickstart_PrivateAddress: '10.1.1.1', Kickstart_PrivateHostname: 'frontend', Kickstart_PrivateDNSDomain: 'local',
  Kickstart_Lang: 'en_US.UTF-8', Kickstart_Keyboard: 'us', Kickstart_Timezone: 'UTC',
};

test('a generated roll of more than 100 Rocks-style node files: every appliance renders valid RHEL 9 kickstarts in <order>', () => {
  const files = roll();
  const nodeFiles = Object.keys(files).filter((p) => p.startsWith('roles/'));
  assert.ok(nodeFiles.length >= 100, `${nodeFiles.length} node files`);
  const { dir, compiler } = tree(files);
  try {
    const r = compiler.report([{ name: 'compute', rootNode: 'compute' }, { name: 'nas', rootNode: 'nas' }, { name: 'login', rootNode: 'login' }]);
    assert.deepEqual(r.global, []);
    for (const a of ['compute', 'nas', 'login']) assert.deepEqual(r.appliances.get(a), [], a);
    assert.deepEqual(r.unreached.map((p) => p.code), ['E_XML_MALFORMED']);
    const ignored = r.warnings.filter((w) => w.code === 'W_IGNORED_TAG').map((w) => w.message.replace(/^.*ignored: /, ''));
    assert.deepEqual(ignored.sort(), [
      `<configure> is a Rocks tag netroot does not act on (${FEATURES} uses; first here)`,
      '<main><interactive> is not a RHEL 8/9 kickstart command (1 use; first here)',
      `<service> is a Rocks tag netroot does not act on (${FEATURES} uses; first here)`,
    ]);
    const hosts: Array<[string, Record<string, string>, string[], string[]]> = [
      ['compute', { ...ATTRS, hostname: 'compute-0-3', gpu: 'yes' }, ['gpu'], ['x11', 'fonts', 'sunos-only']],
      ['compute', { ...ATTRS, hostname: 'compute-0-4', gpu: 'yes', rocks_version_major: '6' }, [], ['gpu']],
      ['nas', { ...ATTRS, hostname: 'nas-0-0' }, [], ['gpu', 'x11', 'fonts']],
      ['login', { ...ATTRS, hostname: 'login-0-0', x11: 'no' }, ['fonts'], ['x11']],
      ['login', { ...ATTRS, hostname: 'login-0-1', x11: 'yes' }, ['fonts', 'x11'], []],
    ];
    for (const [root, attrs, present, absent] of hosts) {
      const ks = compiler.render(root, attrs);
      assert.deepEqual(kickstartProblems(ks, 'RHEL9'), [], `${attrs['hostname']}`);
      const order = /^# nodes, in order: (.*)$/m.exec(ks)![1]!.split(' ');
      const common = ['client', 'base', 'partition', 'install-final', root, ...Array.from({ length: FEATURES }, (_, i) => `feature-${i}`)];
      for (const n of [...common, ...present]) assert.ok(order.includes(n), `${attrs['hostname']}: ${n}`);
      for (const n of absent) assert.ok(!order.includes(n), `${attrs['hostname']}: no ${n}`);
      assert.equal(order.length, common.length + FEATURES * SERVICES + present.length);
      // Script order is node order.
      const posts = [...ks.matchAll(/^echo node ([\w-]+)$/gm)].map((m) => m[1]!.replace(/^base-old$/, 'base'));
      assert.deepEqual(posts, order.filter((n) => posts.includes(n)));
      const at = (n: string) => order.indexOf(n);
      assert.equal(order[0], 'partition', 'partition → HEAD');
      assert.equal(order.at(-1), 'install-final', 'TAIL → install-final');
      assert.ok(at('partition') < at('base') && at('base') < at('client'), 'the chain base → not-in-any-roll → client binds');
      for (let i = 0; i < FEATURES - 1; i++) assert.ok(at(`feature-${i + 1}`) < at(`feature-${i}`));
      assert.ok(at('feature-0') < at(`svc-0-0`), 'feature-0 → TAIL: before the TAIL slot');
      if (order.includes('x11')) assert.ok(at('fonts') < at('x11'));
      assert.match(ks, new RegExp(`^host=${attrs['hostname']} rack=0 rank=3$`, 'm'));
      assert.doesNotMatch(ks, /SUNWclient|reconfigure|^interactive$/m);
      assert.match(ks, attrs['rocks_version_major'] === '7' ? /^echo node base$/m : /^echo node base-old$/m, 'cond="rocks_version_major &gt;= 7"');
      assert.equal((ks.match(/^chown 'root:root' '\/etc\/hosts'$/gm) ?? []).length, 1);
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});
