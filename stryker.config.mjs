// StrykerJS configuration for `npm run mutate` (scripts/mutate.mjs; docs/mutation.md says how to read
// the scores and lists the surviving mutants that are equivalent).
//
// MODULES is the one table of what is mutated and which unit test files may kill it. Keep each
// module's test list to the few fast files that exercise it directly: Stryker runs, for every mutant,
// only the listed files whose dry run covered that mutant (coverageAnalysis "perTest", one TAP "test"
// per file), so a short list keeps a module's run in minutes. Never list e2e, lab or netns tests here.
// scripts/mutate.mjs runs Stryker once per module, with that module's `mutate` and `tests`.

/** @type {Record<string, { mutate: string[], tests: string[] }>} */
export const MODULES = {
  'dhcp/packet': { mutate: ['src/dhcp/packet.ts'], tests: ['test/dhcp/packet.test.ts'] },
  'tftp/packet': { mutate: ['src/tftp/packet.ts'], tests: ['test/tftp/packet.test.ts'] },
  'tftp/options': { mutate: ['src/tftp/options.ts'], tests: ['test/tftp/packet.test.ts'] },
  'iscsi/pdu': {
    mutate: ['src/iscsi/pdu.ts'],
    tests: ['test/iscsi/pdu.test.ts', 'test/iscsi/crc32c.test.ts', 'test/iscsi/text-keys.test.ts', 'test/iscsi/login.test.ts'],
  },
  'iscsi/text-keys': {
    mutate: ['src/iscsi/text-keys.ts'],
    tests: ['test/iscsi/text-keys.test.ts', 'test/iscsi/login.test.ts'],
  },
  'iscsi/login': {
    mutate: ['src/iscsi/login.ts'],
    tests: ['test/iscsi/login.test.ts', 'test/iscsi/text-keys.test.ts', 'test/iscsi/iscsi-name.test.ts'],
  },
  'iscsi/chap': { mutate: ['src/iscsi/chap.ts'], tests: ['test/iscsi/login.test.ts'] },
  'iscsi/scsi': { mutate: ['src/iscsi/scsi/*.ts'], tests: ['test/iscsi/scsi.test.ts'] },
  'rpc/codec': { mutate: ['src/rpc/codec.ts'], tests: ['test/rpc/codec.test.ts'] },
  'initrd/cpio': { mutate: ['src/initrd/cpio.ts'], tests: ['test/initrd/cpio.test.ts'] },
  'initrd/kernel-args': { mutate: ['src/initrd/kernel-args.ts'], tests: ['test/initrd/kernel-args.test.ts'] },
  'profile/cond': { mutate: ['src/profile/cond.ts'], tests: ['test/profile/cond.test.ts'] },
  'profile/graph': {
    mutate: ['src/profile/graph.ts'],
    tests: ['test/profile/graph.test.ts', 'test/profile/rocks-order.test.ts'],
  },
  'config/schema': {
    mutate: ['src/config/schema.ts'],
    tests: ['test/config/load.test.ts', 'test/config/system-and-consistency.test.ts', 'test/http/limits.test.ts'],
  },
};

/** The fixed sample `npm run mutate -- --ci` mutates when no module changed since the recorded commit. */
export const CI_SAMPLE = ['tftp/options', 'profile/cond'];

const all = Object.values(MODULES);

/** The sandbox runs the compiled test files (see buildCommand). */
export function testFiles(tests) {
  return [...new Set(tests)].map((t) => t.replace(/\.ts$/, '.js'));
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  // The sandbox's .ts files are type-stripped to .js next to them once, after instrumentation
  // (scripts/mutate-build.mjs): a plain node process per test file and mutant costs a third of a
  // tsx one.
  buildCommand: 'node scripts/mutate-build.mjs',
  tap: {
    // Each test file runs by itself (not under `node --test`, whose per-file child process would hide
    // the hook's coverage), as the compiled .js, printing TAP.
    testFiles: testFiles(all.flatMap((m) => m.tests)),
    nodeArgs: ['--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}'],
    forceBail: true,
  },
  mutate: all.flatMap((m) => m.mutate),
  coverageAnalysis: 'perTest',
  // Two cores shared by several engineers: one test process at a time (scripts/mutate.mjs also
  // runs Stryker at nice 19). Raise with --concurrency on an idle machine.
  concurrency: 1,
  // A mutant that makes a loop spin (e.g. a zero MaxRecvDataSegmentLength) is a timeout = detected.
  // Stryker waits 1.5 × the file's dry-run time + timeoutMS; each timeout costs that much wall time.
  timeoutMS: 5000,
  reporters: ['json', 'progress'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  incrementalFile: 'reports/mutation/incremental.json',
  tempDirName: '.stryker-tmp',
  // The sandbox needs only the sources, the tests and what tsx reads.
  ignorePatterns: ['bench', 'vagrant', 'docs', 'packaging', 'reports', 'dist', '.lab', 'state'],
  cleanTempDir: true,
  thresholds: { high: 85, low: 75 },
};
