// `-h`/`--help` anywhere before `--` prints usage and runs nothing: every command of main.ts's
// COMMANDS table and every verb its usage names, in several positions, against a state directory
// with a host in it that must stay byte-for-byte the same. Also `--version`, `--json` before the
// command, and the operator's errors (unknown flag, missing value): exit 2, one `netroot: `, nothing changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS, loadCommand, run } from '../../src/cli/main.js';
import { cli, tempStateDir, type CliResult } from '../helpers/cli.js';
import { snapshot } from '../helpers/state-snapshot.js';
import { assertOperatorErrors, stateWithHost } from '../helpers/operator-errors.js';

/** The verbs a command's usage names (`netroot host add ...` → add); none for `netroot kickstart HOST`. */
async function verbs(name: string): Promise<string[]> {
  const re = new RegExp(`^netroot ${name} ([a-z][a-z-]*)(?: |$)`);
  const { usage } = await loadCommand(name);
  return [
    ...new Set(
      usage
        .split('\n')
        .map((l) => re.exec(l.trim())?.[1])
        .filter((v) => v !== undefined),
    ),
  ];
}

/** A run that has not answered in `ms` started something it should not have. */
async function promptly(dir: string, argv: string[], ms = 10_000): Promise<CliResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`netroot ${argv.join(' ')}: no answer in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([cli(dir, ...argv), late]);
  } finally {
    clearTimeout(timer);
  }
}

const HELP = ['--help', '-h'];

/** Complete command lines that act (add, remove, serve, build...) without --help. */
const ACTING: string[][] = [
  ['host', 'add', 'compute-0-9', '--appliance', 'compute', '--mac', '52:54:00:aa:00:09'],
  ['host', 'remove', 'compute-0-0', '--yes'],
  ['host', 'set', 'compute-0-0', 'boot=os'],
  ['host', 'interface', 'add', 'compute-0-0', '--mac', '52:54:00:aa:00:07', '--device', 'bmc'],
  ['appliance', 'add', 'gpu', '--root-node', 'compute'],
  ['appliance', 'set', 'compute', '--basename', 'cn', '--no-discover'],
  ['appliance', 'remove', 'compute-diskless'],
  ['attr', 'set', 'site', 'x'],
  ['insert-ethers', '--mac', '52:54:00:aa:00:08'],
  ['insert-ethers', '--remove', 'compute-0-0'],
  ['serve'],
  ['events', '--follow', '--last', '5'],
  ['storage', 'serve', '--portal', '127.0.0.1'],
  ['storage', 'reconcile'],
  ['assets', 'import'],
  ['initrd', 'build-lab-root'],
  ['lab', 'up', '--nodes', '1'],
  ['lab', 'down'],
  ['roll', 'add', '.', '--name', 'site'],
  ['roll', 'remove', 'site'],
  ['host', 'bmc', 'set', 'compute-0-0', '--driver', 'ipmi', '--address', '127.0.0.1', '--user', 'u', '--secret-stdin'],
  ['host', 'bmc', 'unset', 'compute-0-0'],
  ['host', 'set', 'compute-0-0', 'boot=install', '--reboot'],
  ['power', 'cycle', 'compute-0-0', '--pxe'],
  ['golden', 'create', 'g', '--from', 'compute-0-0'],
  ['golden', 'promote', 'compute-0-0'],
  ['golden', 'remove', 'g'],
];

test("the verbs come from each command's usage", async () => {
  assert.deepEqual(await verbs('host'), ['add', 'list', 'show', 'remove', 'set', 'interface', 'bmc']);
  assert.deepEqual(await verbs('power'), []);
  assert.deepEqual(await verbs('storage'), ['nodes', 'volumes', 'show', 'reconcile', 'serve']);
  assert.deepEqual(await verbs('initrd'), ['build-base', 'build-installer', 'build-lab-root']);
  assert.deepEqual(await verbs('roll'), ['add', 'list', 'remove']);
  assert.deepEqual(await verbs('golden'), ['create', 'promote', 'list', 'show', 'remove']);
  assert.deepEqual(await verbs('kickstart'), []);
  assert.deepEqual(await verbs('serve'), []);
  assert.deepEqual(await verbs('insert-ethers'), []);
});

test('-h/--help on every command and verb, in any position, prints usage, exit 0, and changes nothing', async () => {
  const dir = await stateWithHost('nrt-help-');
  try {
    const before = snapshot(dir);
    let runs = 0;
    for (const name of Object.keys(COMMANDS)) {
      const vs = await verbs(name);
      const heads = vs.length ? vs.map((v) => [name, v]) : [[name]];
      for (const flag of HELP) {
        const lines: string[][] = [
          [flag, name],
          [name, flag],
        ];
        for (const head of heads) {
          lines.push(
            [...head, flag],
            [...head, 'compute-0-0', flag],
            [...head, flag, 'compute-0-0'],
            [flag, ...head, 'compute-0-0'],
            [...head, '--no-such-flag', flag],
            ['--json', ...head, 'compute-0-0', flag],
            ['--set', 'http.port=0', ...head, flag],
          );
        }
        for (const argv of ACTING.filter((a) => a[0] === name)) lines.push([...argv, flag], [argv[0]!, flag, ...argv.slice(1)]);
        for (const argv of lines) {
          const r = await promptly(dir, argv);
          const what = `netroot ${argv.join(' ')} → ${r.code}: ${r.err}`;
          assert.equal(r.code, 0, what);
          assert.match(r.out, /usage/, what);
          assert.ok(r.out.includes(`netroot ${name}`), `${what}\n${r.out}`);
          assert.equal(r.err, '', what);
          assert.deepEqual(snapshot(dir), before, `${what}: the state directory changed`);
          runs++;
        }
      }
    }
    assert.ok(runs > 200, `${runs} runs`);
    // The snapshot does see a change: the same line without --help acts.
    assert.equal((await cli(dir, 'host', 'remove', 'compute-0-0', '--yes')).code, 0);
    assert.notDeepEqual(snapshot(dir), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--help opens nothing: a state directory that does not exist is not created', async () => {
  const parent = tempStateDir('nrt-help-');
  const dir = join(parent, 'state');
  try {
    for (const name of Object.keys(COMMANDS)) {
      for (const argv of [[name, '--help'], ...ACTING.filter((a) => a[0] === name).map((a) => [...a, '-h'])]) {
        const r = await promptly(dir, argv);
        assert.equal(r.code, 0, `${argv.join(' ')}: ${r.err}`);
        assert.equal(existsSync(dir), false, `netroot ${argv.join(' ')} created the state directory`);
      }
    }
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test('netroot --help, -h, help, help COMMAND; an unknown topic is an error', async () => {
  const dir = await stateWithHost('nrt-help-');
  try {
    const before = snapshot(dir);
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const r = await cli(dir, ...argv);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^usage: netroot /);
      for (const name of Object.keys(COMMANDS)) assert.ok(r.out.includes(`  ${name} `), `${argv.join(' ')} lists ${name}`);
    }
    let r = await cli(dir, 'help', 'host');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^usage: netroot host add NAME/);
    assert.match(r.out, /netroot host remove NAME/);
    assert.equal((await cli(dir, '--help', 'host')).out, r.out);
    assert.equal((await cli(dir, 'host', 'remove', 'compute-0-0', '--help')).out, r.out);
    r = await cli(dir, 'help', 'frobnicate');
    assert.equal(r.code, 2);
    assert.match(r.err, /^netroot: unknown command "frobnicate"/);
    r = await cli(dir);
    assert.equal(r.code, 2, "no command at all is the operator's error");
    assert.match(r.out, /^usage: netroot /);
    assert.deepEqual(snapshot(dir), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serve, storage serve and insert-ethers with --help return at once as a process (no server, no session)', () => {
  const dir = tempStateDir('nrt-help-');
  try {
    const before = snapshot(dir);
    for (const argv of [
      ['serve', '--help'],
      ['serve', '-h'],
      ['storage', 'serve', '--portal', '127.0.0.1', '--help'],
      ['insert-ethers', '--count', '1', '-h'],
    ]) {
      const t0 = Date.now();
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/netroot.ts', '--state-dir', dir, ...argv], { encoding: 'utf8', timeout: 30_000 });
      const what = `netroot ${argv.join(' ')} (${Date.now() - t0} ms): ${r.stderr}`;
      assert.equal(r.signal, null, `${what}: still running, killed`);
      assert.equal(r.status, 0, what);
      assert.match(r.stdout, new RegExp(`^usage: netroot ${argv[0]}`), what);
      assert.deepEqual(snapshot(dir), before, what);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--version prints the version of package.json', async () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  let out = '';
  const code = await run(['--version'], { out: (t) => (out += t), err: () => {} }, {});
  assert.equal(code, 0);
  assert.equal(out, `netroot ${pkg.version}\n`);
});

test('--json before the command is the same as after it', async () => {
  const dir = await stateWithHost('nrt-help-');
  try {
    const after = await cli(dir, 'host', 'list', '--json');
    assert.equal(after.code, 0, after.err);
    assert.deepEqual(
      (JSON.parse(after.out) as Array<{ name: string }>).map((h) => h.name),
      ['compute-0-0'],
    );
    const before = await cli(dir, '--json', 'host', 'list');
    assert.equal(before.code, 0, before.err);
    assert.equal(before.out, after.out);
    let out = '';
    assert.equal(await run(['--json', '--state-dir', dir, 'host', 'list'], { out: (t) => (out += t), err: () => {} }, {}), 0);
    assert.equal(out, after.out);
    const show = await cli(dir, '--json', 'host', 'show', 'compute-0-0');
    assert.equal(show.code, 0, show.err);
    assert.equal(JSON.parse(show.out).name, 'compute-0-0');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unknown flags and missing values: exit 2, one `netroot: ` naming the argument, nothing changed', async () => {
  const dir = await stateWithHost('nrt-help-');
  try {
    const cases: Array<[string[], RegExp]> = [
      [['host', 'remove', 'compute-0-0', '--force'], /Unknown option '--force'/],
      [['host', 'list', '--bogus'], /Unknown option '--bogus'/],
      [['host', 'add', 'compute-0-1', '--mac', '52:54:00:aa:00:02', '--appliance'], /'--appliance <value>' argument missing/],
      [['host', 'add', 'compute-0-1', '--appliance', 'compute', '--mac', '52:54:00:aa:00:02', '--rack', 'abc'], /^netroot: --rack: expected a whole number/],
      [['host', 'set', 'compute-0-0', 'rack=abc'], /--rack: expected a whole number/],
      [['insert-ethers', '--mac'], /'--mac <value>' argument missing/],
      [['storage', 'serve', '--portal'], /'--portal <value>' argument missing/],
      [['lab', 'down', '--dir'], /'--dir <value>' argument missing/],
      [['initrd', 'build-base', '--nope'], /Unknown option '--nope'/],
      [['--bogus', 'host', 'list'], /unknown option "--bogus" before the command/],
      [['host', 'list', '--set'], /--set needs a value/],
      [['host', 'list', '--state-dir'], /--state-dir needs a value/],
      [['host', 'list', '--', '--help'], /unexpected argument "--help"/],
      [['storage', 'sideways'], /^netroot: unknown storage command "sideways"/],
      [['lab'], /^netroot: missing lab command/],
      [['initrd'], /^netroot: missing initrd command/],
      [['assets', 'export'], /^netroot: unknown assets command "export"/],
      [['host', 'host'], /^netroot: unknown host command "host"/],
    ];
    await assertOperatorErrors(dir, cases, promptly);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
