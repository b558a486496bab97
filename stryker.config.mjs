// StrykerJS configuration for `npm run mutate` (scripts/mutate.mjs; docs/mutation.md says how to read
// the scores and lists the surviving mutants that are equivalent).
//
// MODULES is the one table of what is mutated and which unit test files may kill it. Keep each
// module's test list to the few fast files that exercise it directly: Stryker runs, for every mutant,
// only the listed files whose dry run covered that mutant (coverageAnalysis "perTest", one TAP "test"
// per file), so a short list keeps a module's run in minutes. Never list e2e, lab or netns tests here.
// scripts/mutate.mjs runs Stryker once per module, with that module's `mutate` and `tests`.

// `seconds`: wall time of the module's last full run on the development machine (2 shared cores,
// concurrency 2, nice 19; "~" = not yet measured, estimated at 3 s per source line); --ci uses it
// to stay within its budget.
/** @type {Record<string, { mutate: string[], tests: string[], seconds: number }>} */
export const MODULES = {
  'dhcp/packet': { mutate: ['src/dhcp/packet.ts'], tests: ['test/dhcp/packet.test.ts'], seconds: 169 },
  'tftp/packet': { mutate: ['src/tftp/packet.ts'], tests: ['test/tftp/packet.test.ts'], seconds: 122 },
  'tftp/options': { mutate: ['src/tftp/options.ts'], tests: ['test/tftp/packet.test.ts'], seconds: 64 },
  'iscsi/pdu': {
    mutate: ['src/iscsi/pdu.ts'],
    tests: ['test/iscsi/pdu.test.ts', 'test/iscsi/crc32c.test.ts', 'test/iscsi/text-keys.test.ts', 'test/iscsi/login.test.ts'],
    seconds: 263,
  },
  'iscsi/text-keys': {
    mutate: ['src/iscsi/text-keys.ts'],
    tests: ['test/iscsi/text-keys.test.ts', 'test/iscsi/login.test.ts'],
    seconds: 76,
  },
  'iscsi/login': {
    mutate: ['src/iscsi/login.ts'],
    tests: ['test/iscsi/login.test.ts', 'test/iscsi/login-machine.test.ts', 'test/iscsi/text-keys.test.ts', 'test/iscsi/iscsi-name.test.ts'],
    seconds: 297,
  },
  'iscsi/chap': { mutate: ['src/iscsi/chap.ts'], tests: ['test/iscsi/login.test.ts'], seconds: 33 },
  // src/iscsi/scsi/ in five modules (one `npm run mutate -- iscsi/scsi` runs them all): each
  // handler file with its direct test (test/iscsi/scsi/*.test.ts: handlers on a real LU, no
  // session, fast) and the session-level scsi.test.ts last; the shared files (dispatch, types,
  // sense, misc, logical unit) with every file that reaches them.
  'iscsi/scsi/rw': { mutate: ['src/iscsi/scsi/rw.ts'], tests: ['test/iscsi/scsi/rw.test.ts', 'test/iscsi/scsi.test.ts'], seconds: 415 },
  'iscsi/scsi/provisioning': {
    mutate: ['src/iscsi/scsi/provisioning.ts'],
    tests: ['test/iscsi/scsi/provisioning.test.ts', 'test/iscsi/scsi.test.ts'],
    seconds: 761,
  },
  'iscsi/scsi/mode': { mutate: ['src/iscsi/scsi/mode.ts'], tests: ['test/iscsi/scsi/mode.test.ts', 'test/iscsi/scsi.test.ts'], seconds: 318 },
  'iscsi/scsi/inquiry': { mutate: ['src/iscsi/scsi/inquiry.ts'], tests: ['test/iscsi/scsi/inquiry.test.ts', 'test/iscsi/scsi.test.ts'], seconds: 141 },
  'iscsi/scsi/core': {
    mutate: ['src/iscsi/scsi/commands.ts', 'src/iscsi/scsi/types.ts', 'src/iscsi/scsi/sense.ts', 'src/iscsi/scsi/misc.ts', 'src/iscsi/scsi/logical-unit.ts'],
    tests: [
      'test/iscsi/scsi/commands.test.ts',
      'test/iscsi/scsi/misc.test.ts',
      'test/iscsi/scsi/logical-unit.test.ts',
      'test/iscsi/scsi/rw.test.ts',
      'test/iscsi/scsi/mode.test.ts',
      'test/iscsi/scsi/provisioning.test.ts',
      'test/iscsi/scsi/inquiry.test.ts',
      'test/iscsi/scsi.test.ts',
    ],
    seconds: 642,
  },
  'rpc/codec': {
    mutate: ['src/rpc/codec.ts'],
    tests: ['test/rpc/codec.test.ts', 'test/rpc/codec-edges.test.ts', 'test/rpc/codec-limits.test.ts'],
    seconds: 557,
  },
  'initrd/cpio': { mutate: ['src/initrd/cpio.ts'], tests: ['test/initrd/cpio.test.ts'], seconds: 152 },
  'initrd/kernel-args': { mutate: ['src/initrd/kernel-args.ts'], tests: ['test/initrd/kernel-args.test.ts'], seconds: 112 },
  'profile/cond': {
    mutate: ['src/profile/cond.ts'],
    tests: ['test/profile/cond.test.ts', 'test/profile/cond-edges.test.ts', 'test/profile/filters.test.ts'],
    seconds: 3146, // concurrency 1, load 14-27 (docs/mutation/profile-cond.md)
  },
  'profile/graph': {
    mutate: ['src/profile/graph.ts'],
    tests: ['test/profile/graph-model.test.ts', 'test/profile/graph-edges.test.ts', 'test/profile/graph.test.ts', 'test/profile/rocks-order.test.ts'],
    seconds: 390,
  },
  'config/schema': {
    mutate: ['src/config/schema.ts'],
    tests: ['test/config/schema.test.ts', 'test/config/load.test.ts', 'test/config/system-and-consistency.test.ts', 'test/http/limits.test.ts'],
    seconds: 220,
  },
};

/** The fixed sample `npm run mutate -- --ci` mutates when no module changed since the recorded commit. */
export const CI_SAMPLE = ['tftp/options', 'tftp/packet'];

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
