// `netroot events`: the newest N oldest first, filters, one line or one JSON object per event,
// secret-named detail redacted and terminal control characters quoted; --follow prints new events
// (written by another store connection, as the daemon would) until stopped — in-process with an
// injected stop and poll interval, and as a process until SIGTERM (exit 0); bad input is exit 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cliOk, tempStateDir } from '../helpers/cli.js';
import { assertOperatorErrors, stateWithHost } from '../helpers/operator-errors.js';
import { openStore } from '../../src/store/index.js';
import { CliContext } from '../../src/cli/context.js';
import { eventsCommand } from '../../src/cli/events.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'ChapSecret-Do-Not-Show';

/** Appends events through a store connection of its own (the daemon's side of the log). */
async function append(dir: string, events: Array<{ kind: string; host?: string; mac?: string; detail?: Record<string, unknown> }>): Promise<void> {
  const store = openStore(dir);
  try {
    for (const e of events) await store.events.append(e);
  } finally {
    await store.close();
  }
}

test('events: the last 50 oldest first by default, --last, --kind, --host, --json; secrets redacted, control characters quoted', async () => {
  const dir = tempStateDir('nrt-events-');
  try {
    const ok = cliOk(dir);
    await append(
      dir,
      Array.from({ length: 60 }, (_, i) => ({ kind: i % 2 ? 'test.odd' : 'test.even', detail: { i } })),
    );
    await ok('host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01', '--ip', '10.1.255.254');
    await append(dir, [
      {
        kind: 'node.status',
        host: 'compute-0-0',
        mac: '52:54:00:aa:00:01',
        detail: { iscsi_secret: SECRET, nested: { password: SECRET, token: SECRET }, msg: 'red \x1b[31malert' },
      },
    ]);

    const lines = (await ok('events')).trimEnd().split('\n');
    assert.equal(lines.length, 50);
    // 62 events: the first shown is i=12 (ids 13..62), the last two are the host's.
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\S+Z {2}test\.even {2}- {2}- {2}i=12$/);
    assert.match(lines[48]!, /^\S+ {2}host\.added {2}compute-0-0 {2}52:54:00:aa:00:01 {2}by=cli ip=10\.1\.255\.254$/);
    const status = lines[49]!;
    assert.match(
      status,
      /^\S+ {2}node\.status {2}compute-0-0 {2}52:54:00:aa:00:01 {2}iscsi_secret=\[redacted\] nested=\{"password":"\[redacted\]","token":"\[redacted\]"\} msg="red \\u001b\[31malert"$/,
    );
    assert.ok(!status.includes(SECRET) && !status.includes('\x1b'), status);

    assert.deepEqual(
      (await ok('events', '--last', '3', '--kind', 'test.odd'))
        .trimEnd()
        .split('\n')
        .map((l) => l.split('  ').at(-1)),
      ['i=55', 'i=57', 'i=59'],
    );
    assert.deepEqual(
      (await ok('events', '--host', 'compute-0-0'))
        .trimEnd()
        .split('\n')
        .map((l) => l.split('  ')[1]),
      ['host.added', 'node.status'],
    );

    const json = (await ok('events', '--json', '--last', '2'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: number; kind: string; host: string | null; mac: string | null; at: string; detail: Record<string, unknown> });
    assert.deepEqual(
      json.map((e) => e.kind),
      ['host.added', 'node.status'],
    );
    assert.ok(json[0]!.id < json[1]!.id);
    assert.deepEqual(json[1]!.detail, { iscsi_secret: '[redacted]', nested: { password: '[redacted]', token: '[redacted]' }, msg: 'red \x1b[31malert' });
    assert.equal(await ok('--json', 'events', '--last', '2'), await ok('events', '--last', '2', '--json'));
    // A removed host keeps its events, and they can still be asked for by name.
    await ok('host', 'remove', 'compute-0-0', '--yes');
    assert.match(await ok('events', '--host', 'compute-0-0', '--last', '1'), /host\.removed {2}compute-0-0/);
    // An empty log prints nothing.
    assert.equal(await cliOk(tempStateDir('nrt-events-'))('events'), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('events --follow (in-process): prints the tail, then new matching events as another connection writes them, until stopped', async () => {
  const dir = tempStateDir('nrt-events-');
  let out = '';
  const ctx = new CliContext({ stateDir: dir, set: {} }, { out: (t) => (out += t), err: (t) => assert.fail(t) }, {});
  try {
    await append(dir, [
      { kind: 'test.a', detail: { n: 1 } },
      { kind: 'test.b', detail: { n: 2 } },
    ]);
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const done = eventsCommand(ctx, ['--follow', '--kind', 'test.a'], { pollMs: 20, stop: () => stopped });
    await waitFor(() => out.includes('n=1'), { what: () => `the line with n=1; got: ${out}`, timeoutMs: 15_000 });
    await append(dir, [
      { kind: 'test.b', detail: { n: 3 } },
      { kind: 'test.a', detail: { n: 4 } },
    ]);
    await waitFor(() => out.includes('n=4'), { what: () => `the line with n=4; got: ${out}`, timeoutMs: 15_000 });
    // A burst: all of it, in order, once.
    await append(
      dir,
      Array.from({ length: 30 }, (_, i) => ({ kind: 'test.a', detail: { n: 100 + i } })),
    );
    await waitFor(() => out.includes('n=129'), { what: () => `the line with n=129; got: ${out}`, timeoutMs: 15_000 });
    stop();
    assert.equal(await done, 0);
    const ns = out
      .trimEnd()
      .split('\n')
      .map((l) => Number(/n=(\d+)$/.exec(l)?.[1]));
    assert.deepEqual(ns, [1, 4, ...Array.from({ length: 30 }, (_, i) => 100 + i)], 'no test.b, nothing twice');
  } finally {
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netroot events --follow as a process: prints new events and exits 0 on SIGTERM', async () => {
  const dir = tempStateDir('nrt-events-');
  try {
    await append(dir, [{ kind: 'test.first', detail: { n: 1 } }]);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/netroot.ts', '--state-dir', dir, 'events', '--follow', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('exit', (code, signal) => r([code, signal])));
    try {
      await waitFor(() => out.includes('test.first'), { what: () => `the line with test.first; got: ${out}${err}`, timeoutMs: 30_000 });
      await append(dir, [{ kind: 'test.second', detail: { chap_secret: SECRET } }]);
      await waitFor(() => out.includes('test.second'), { what: () => `the line with test.second; got: ${out}${err}`, timeoutMs: 15_000 });
      child.kill('SIGTERM');
      assert.deepEqual(await exited, [0, null], err);
    } finally {
      child.kill('SIGKILL');
    }
    const events = out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; detail: Record<string, unknown> });
    assert.deepEqual(
      events.map((e) => e.kind),
      ['test.first', 'test.second'],
    );
    assert.deepEqual(events[1]!.detail, { chap_secret: '[redacted]' });
    assert.equal(err, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('events: bad input is exit 2 naming the argument, nothing changed', async () => {
  const dir = await stateWithHost('nrt-events-');
  try {
    const cases: Array<[string[], RegExp]> = [
      [['events', '--last', 'abc'], /^netroot: --last: expected a whole number from 1 to 10000, got "abc"\n$/],
      [['events', '--last', '0'], /^netroot: --last: expected a whole number from 1 to 10000, got "0"/],
      [['events', '--last', '10001'], /--last: expected a whole number from 1 to 10000, got "10001"/],
      [['events', '--last', '-5'], /^netroot: Option '--last' argument is ambiguous/],
      [['events', '--last=-5'], /--last: expected a whole number from 1 to 10000, got "-5"/],
      [['events', '--last', '1e3'], /--last: expected a whole number/],
      [['events', '--last'], /^netroot: Option '--last <value>' argument missing/],
      [['events', '--kind', 'host added'], /^netroot: --kind: expected an event kind like host\.added/],
      [['events', '--kind', 'x'.repeat(65)], /^netroot: --kind: /],
      [['events', '--host', 'compute-9-9'], /^netroot: host: unknown host "compute-9-9" \(no such host and no events for it\)\n$/],
      [['events', '--host'], /'--host <value>' argument missing/],
      [['events', '--tail'], /^netroot: Unknown option '--tail'/],
      [['events', 'compute-0-0'], /^netroot: unexpected argument "compute-0-0"/],
      [['events', '--follow=yes'], /--follow/],
    ];
    await assertOperatorErrors(dir, cases);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
