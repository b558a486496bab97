// The power runner's own logic (bound, one result per host, partial failure, abort, events) with a
// small real in-process PowerDriver: it keeps a power state per host and counts calls in flight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetrootError } from '../../src/errors.js';
import { runPower, type PowerTarget } from '../../src/power/runner.js';
import { powerHosts, POWER_EVENT } from '../../src/power/service.js';
import type { BmcEntry, PowerDriver, PowerRequest, PowerResult, PowerState } from '../../src/power/types.js';

class TableDriver implements PowerDriver {
  readonly name = 'ipmi' as const;
  inFlight = 0;
  maxInFlight = 0;
  calls = 0;
  readonly state = new Map<string, PowerState>();
  constructor(
    private readonly delayMs: number,
    private readonly failing: ReadonlySet<string> = new Set(),
  ) {}
  async run(bmc: BmcEntry, req: PowerRequest): Promise<PowerResult> {
    this.calls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, this.delayMs);
        req.signal?.addEventListener('abort', () => {
          clearTimeout(t);
          reject(new NetrootError('E_BMC_TIMEOUT', `${bmc.host}: aborted`));
        });
      });
      if (this.failing.has(bmc.host)) throw new NetrootError('E_BMC_UNREACHABLE', `${bmc.host}: BMC ${bmc.address} unreachable`);
      if (bmc.host === 'buggy') throw new TypeError(`bug with ${bmc.secret}`);
      if (req.action !== 'status') this.state.set(bmc.host, req.action === 'off' || req.action === 'soft' ? 'off' : 'on');
      return { state: this.state.get(bmc.host) ?? 'off' };
    } finally {
      this.inFlight--;
    }
  }
}

const bmc = (host: string, driver: 'ipmi' | 'redfish' = 'ipmi'): BmcEntry => ({
  host,
  driver,
  address: `bmc-${host}`,
  port: null,
  user: 'u',
  secret: 'TOPSECRET',
  insecureTls: false,
  systemId: null,
});

test('runner: at most `parallel` BMCs at once; one result per host in order; progress counts', async () => {
  const d = new TableDriver(20);
  const targets: PowerTarget[] = Array.from({ length: 50 }, (_, i) => ({ host: `n${i}`, bmc: bmc(`n${i}`) }));
  const progress: Array<{ done: number; failed: number }> = [];
  const r = await runPower(targets, { action: 'on' }, { ipmi: d }, { parallel: 7, onProgress: (p) => progress.push({ done: p.done, failed: p.failed }) });
  assert.equal(d.maxInFlight, 7);
  assert.equal(r.length, 50);
  assert.deepEqual(
    r.map((x) => x.host),
    targets.map((t) => t.host),
  );
  assert.ok(r.every((x) => x.ok && x.state === 'on'));
  assert.equal(progress.length, 50);
  assert.deepEqual(progress.at(-1), { done: 50, failed: 0 });
  // the default bound is 32
  const d2 = new TableDriver(10);
  await runPower(
    Array.from({ length: 100 }, (_, i) => ({ host: `m${i}`, bmc: bmc(`m${i}`) })),
    { action: 'status' },
    { ipmi: d2 },
  );
  assert.equal(d2.maxInFlight, 32);
  await assert.rejects(runPower(targets, { action: 'on' }, { ipmi: d }, { parallel: 0 }), RangeError);
});

test('runner: failures stay per host (no BMC, missing driver, unreachable, a driver bug); the rest complete', async () => {
  const d = new TableDriver(5, new Set(['bad']));
  const r = await runPower(
    [
      { host: 'a', bmc: bmc('a') },
      { host: 'nobmc', bmc: null },
      { host: 'rf', bmc: bmc('rf', 'redfish') },
      { host: 'bad', bmc: bmc('bad') },
      { host: 'buggy', bmc: bmc('buggy') },
      { host: 'b', bmc: bmc('b') },
    ],
    { action: 'cycle' },
    { ipmi: d },
    { parallel: 2 },
  );
  const by = Object.fromEntries(r.map((x) => [x.host, x]));
  assert.deepEqual(by['a'], { host: 'a', ok: true, state: 'on' });
  assert.deepEqual(by['b'], { host: 'b', ok: true, state: 'on' });
  assert.equal(by['nobmc']!.ok === false && by['nobmc']!.code, 'E_BMC_NOT_SET');
  assert.equal(by['rf']!.ok === false && by['rf']!.code, 'E_BMC_UNSUPPORTED');
  assert.equal(by['bad']!.ok === false && by['bad']!.code, 'E_BMC_UNREACHABLE');
  assert.equal(by['buggy']!.ok === false && by['buggy']!.code, 'E_BMC_PROTOCOL');
  assert.ok(!JSON.stringify(r).includes('TOPSECRET'), 'no secret in any result');
});

test('runner: abort stops hosts in flight and those not started; every host still has a result', async () => {
  const d = new TableDriver(10_000);
  const ac = new AbortController();
  // timed input, not a wait: the abort arrives while the first hosts are in flight.
  setTimeout(() => ac.abort(), 50);
  const t0 = Date.now();
  const r = await runPower(
    Array.from({ length: 10 }, (_, i) => ({ host: `n${i}`, bmc: bmc(`n${i}`) })),
    { action: 'on', signal: ac.signal },
    { ipmi: d },
    { parallel: 3 },
  );
  assert.ok(Date.now() - t0 < 2000);
  assert.equal(r.length, 10);
  assert.ok(r.every((x) => !x.ok && x.code === 'E_BMC_TIMEOUT'));
  assert.equal(d.calls, 3, 'hosts not started were never sent to the driver');
});

test('powerHosts: every outcome is a power event {action, pxe, ok, state|code+message}, without the secret', async () => {
  const d = new TableDriver(1, new Set(['bad']));
  const events: Array<{ kind: string; host?: string | null; detail?: Record<string, unknown> }> = [];
  const entries = new Map([
    ['a', bmc('a')],
    ['bad', bmc('bad')],
  ]);
  const r = await powerHosts(
    { bmcs: { get: async (h) => entries.get(h) ?? null }, events: { append: async (e) => events.push(e) } },
    ['a', 'bad', 'none'],
    { action: 'on', pxe: true },
    { ipmi: d },
  );
  assert.equal(r.filter((x) => x.ok).length, 1);
  assert.equal(events.length, 3);
  assert.ok(events.every((e) => e.kind === POWER_EVENT));
  const by = Object.fromEntries(events.map((e) => [e.host, e.detail]));
  assert.deepEqual(by['a'], { action: 'on', pxe: true, ok: true, state: 'on' });
  assert.equal(by['bad']!['code'], 'E_BMC_UNREACHABLE');
  assert.equal(by['bad']!['ok'], false);
  assert.equal(by['none']!['code'], 'E_BMC_NOT_SET');
  assert.ok(!JSON.stringify(events).includes('TOPSECRET'));
});
