// The import rules of each src/ folder's README.md, enforced (issue #17 move 8). `npm test` runs
// `npm run lint:imports`; a change that breaks one fails with the rule's name and the two files.
// Leaves every folder may import (docs/DESIGN.md): errors.ts and its table error-codes.ts,
// operator-file.ts, pid.ts, atomic-file.ts, net/, validate/, log/.
const LEAVES = [
  '^src/errors\\.ts$',
  '^src/error-codes\\.ts$',
  '^src/operator-file\\.ts$',
  '^src/pid\\.ts$',
  '^src/atomic-file\\.ts$',
  '^src/net/',
  '^src/validate/',
  '^src/log/',
];

/** Files in `folder` may import, of netroot's own code, only the leaves, their own folder and `also`. */
function only(folder, also = [], comment = '') {
  return {
    name: `${folder}-imports`,
    severity: 'error',
    comment: comment || `src/${folder}/README.md: what it may import`,
    from: { path: `^src/${folder}/` },
    to: { path: '^src/', pathNot: [`^src/${folder}/`, ...LEAVES, ...also] },
  };
}

module.exports = {
  forbidden: [
    {
      name: 'leaves-import-leaves',
      severity: 'error',
      comment: 'net/, validate/ and errors.ts import nothing of netroot but errors.ts and error-codes.ts; log/ nothing at all',
      from: { path: '^src/(net|validate)/|^src/errors\\.ts$|^src/error-codes\\.ts$' },
      to: { path: '^src/', pathNot: ['^src/(net|validate)/', '^src/errors\\.ts$', '^src/error-codes\\.ts$'] },
    },
    { name: 'log-is-a-leaf', severity: 'error', from: { path: '^src/log/' }, to: { path: '^src/', pathNot: ['^src/log/'] } },
    only('store'),
    only('config'),
    only('profile'),
    only('rpc', [], 'src/rpc/README.md: never store/ or boot/ (the netroot.* methods that need them get them from the composition root)'),
    only('initrd'),
    only('image'),
    only('iscsi', [], 'src/iscsi/README.md: never storage/ (storage depends on the target through an interface)'),
    only('storage', [], 'src/storage/README.md: never iscsi/ (the embedded target comes in through EmbeddedTargetLike), store/, boot/, http/'),
    only('lab', ['^src/initrd/', '^src/cluster/nfs\\.ts$']),
    only('dhcp', ['^src/config/']),
    only('tftp', ['^src/config/', '^src/boot/files\\.ts$']),
    only('discovery', ['^src/store/', '^src/storage/', '^src/config/', '^src/cluster/']),
    only('cluster', ['^src/store/', '^src/profile/']),
    only('boot', ['^src/(profile|discovery|storage|initrd|image|store|config|sync)/']),
    only('http', ['^src/(boot|discovery|store|rpc|config|power|sync)/']),
    only('sync', ['^src/store/'], 'src/sync/README.md: the leaves and store/ (types: the host a node address belongs to)'),
    only('power', [], 'src/power/README.md: only the leaves'),
    {
      name: 'only-cli-imports-app-and-lab',
      severity: 'error',
      comment: 'src/app/README.md, src/lab/README.md: the composition root and the lab are imported only by the CLI',
      from: { path: '^src/', pathNot: ['^src/(cli|app|lab)/'] },
      to: { path: '^src/(app|lab|cli)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'issue #17 moves 1 and 2 ended the last two cycles (storage backend ↔ volumes/secrets, iscsi connection ↔ session); keep it so',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'nothing-imports-cli',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/cli/'] },
      to: { path: '^src/cli/' },
    },
    {
      name: 'codecs-are-pure',
      severity: 'error',
      comment: 'docs/DESIGN.md: codecs never import sockets, boot/ or store/',
      from: { path: '^src/(dhcp/packet|tftp/packet|tftp/options|iscsi/pdu|rpc/codec|initrd/cpio)' },
      to: { path: '^(node:)?(net|dgram|http|https|tls)$|^src/(boot|store)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
