// A generated roll in Rocks' styles (CVS changelogs, single-quoted filters, entity-encoded conds,
// <file> with perms/owner/append, <configure> and <service> tags, an obsolete <main> command, a
// broken file no appliance reaches), with a graph using every edge and order form. Deterministic:
// the same options give the same bytes. test/profile/rocks-roll.test.ts checks what it renders;
// bench:kickstart renders a larger one ("large graph").
//
// Node files: one per appliance root, client, base, `features` feature-i, `features × services`
// svc-i-j, x11, fonts, gpu, partition, install-final, sunos-only and broken: appliances + 9 +
// features × (1 + services). Edges (one per from → to pair, as the graph parser counts them):
// 3 per appliance + 6 + features × (1 + services) + crossEdges. Cross edges join svc-i-j to
// svc-(i+d)-((j+d) mod services), d = 1, 2 ... (never back: the graph stays acyclic), in the three
// edge forms, some with arch filters or a <to cond>; they add paths, not nodes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface RollOptions {
  /** Appliance root nodes; `compute` (gpu edge) and `login` (x11 edge) must be among them. */
  appliances?: readonly string[];
  features?: number;
  services?: number;
  crossEdges?: number;
  /** The graph's folder under graphs/. */
  graph?: string;
}

export const ROLL_DEFAULTS = { appliances: ['compute', 'nas', 'login'], features: 20, services: 4, crossEdges: 0, graph: 'g' } as const;

/** bench:kickstart's "large graph" (issue #16): 150 node files, 300 edges, 5 appliances. */
export const LARGE_ROLL: RollOptions = {
  appliances: ['compute', 'nas', 'login', 'storage', 'viz'],
  features: 34,
  services: 3,
  crossEdges: 143,
  graph: 'large',
};

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

function crossEdges(n: number, features: number, services: number): string[] {
  const out: string[] = [];
  for (let d = 1; d < features && out.length < n; d++) {
    for (let i = 0; i + d < features && out.length < n; i++) {
      for (let j = 0; j < services && out.length < n; j++) {
        const from = `svc-${i}-${j}`;
        const to = `svc-${i + d}-${(j + d) % services}`;
        const k = out.length;
        if (k % 7 === 3) out.push(`<edge from="${from}"><to cond="rocks_version_major &gt;= 7">${to}</to></edge>`);
        else if (k % 4 === 0) out.push(`<edge from="${from}" to="${to}"/>`);
        else if (k % 4 === 1) out.push(`<edge from="${from}">\n  <to>${to}</to>\n</edge>`);
        else if (k % 4 === 2) out.push(`<edge to="${to}"><from>${from}</from></edge>`);
        else out.push(`<edge from="${from}" to="${to}" arch='x86_64,aarch64'/>`);
      }
    }
  }
  if (out.length < n) throw new Error(`only ${out.length} cross edges fit ${features} features × ${services} services`);
  return out;
}

/** Files by path relative to the tree's root: roles/big/<node>.xml and graphs/<graph>/big.xml. */
export function rocksRoll(opts: RollOptions = {}): Record<string, string> {
  const { appliances, features: FEATURES, services: SERVICES, graph } = { ...ROLL_DEFAULTS, ...opts };
  const files: Record<string, string> = {};
  const put = (name: string, body: string) => (files[`roles/big/${name}.xml`] = nodeXml(name, body));
  for (const app of appliances) put(app, `  <package>${app}-tools</package>\n  <post>echo node ${app}</post>`);
  put(
    'client',
    `  <package os='linux'>rocks-client</package>\n  <package os='sunos'>SUNWclient</package>\n  <post>
<file name="/etc/hosts" mode="append" owner="root.root" perms="0644">
&Kickstart_PrivateAddress;	&Kickstart_PrivateHostname;.&Kickstart_PrivateDNSDomain; &Kickstart_PrivateHostname;
</file>
echo node client
</post>`,
  );
  put(
    'base',
    `  <main>
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
  <post cond="rocks_version_major &lt; 7">echo node base-old</post>`,
  );
  for (let i = 0; i < FEATURES; i++) {
    put(
      `feature-${i}`,
      `  <package>feature-${i}</package>\n  <configure phase="reconfigure">echo reconfigure ${i}</configure>\n  <post>\necho node feature-${i}\n<service name="feature-${i}" enabled="yes"/>\n</post>`,
    );
    for (let j = 0; j < SERVICES; j++) {
      put(
        `svc-${i}-${j}`,
        `  <package arch="x86_64,aarch64">svc-${i}-${j}</package>\n  <post>
<file name="/etc/svc/${i}-${j}.conf" perms="u+rw,go-rwx" owner="root:root" vars="expanded">
host=&hostname; rack=&rack; rank=&rank;
</file>
echo node svc-${i}-${j}
</post>`,
      );
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
  for (const app of appliances) edges.push(`<edge from="${app}"><to>client</to><to>partition</to><to>install-final</to></edge>`);
  edges.push('<edge to="base"><from>client</from></edge>');
  edges.push(`<edge from="base">\n${Array.from({ length: FEATURES }, (_, i) => `  <to>feature-${i}</to>`).join('\n')}\n</edge>`);
  for (let i = 0; i < FEATURES; i++) for (let j = 0; j < SERVICES; j++) edges.push(`<edge from="feature-${i}" to="svc-${i}-${j}"/>`);
  edges.push('<edge from="login" to="x11" cond="x11"/>', '<edge from="x11" to="fonts"/>');
  edges.push('<edge from="compute"><to cond="gpu and rocks_version_major &gt;= 7">gpu</to></edge>');
  edges.push('<edge from="client"><to os="sunos">sunos-only</to></edge>');
  edges.push('<edge from="elsewhere" to="broken"/>');
  edges.push(...crossEdges(opts.crossEdges ?? 0, FEATURES, SERVICES));
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
  files[`graphs/${graph}/big.xml`] = `<?xml version="1.0" standalone="no"?>\n<graph roll="big">\n${[...orders, ...edges].join('\n')}\n</graph>\n`;
  return files;
}

/** How many node files and from → to edges rocksRoll(opts) writes (see the header). */
export function rollSize(opts: RollOptions = {}): { nodeFiles: number; edges: number } {
  const { appliances, features, services, crossEdges: cross } = { ...ROLL_DEFAULTS, ...opts };
  return { nodeFiles: appliances.length + 9 + features * (1 + services), edges: 3 * appliances.length + 6 + features * (1 + services) + cross };
}

/** Writes the files under `dir` (roles/ and graphs/ inside it). */
export function writeRoll(dir: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
}
