// Issue #14 item 1: what a client without credentials holds has an idle and a total deadline.
//  - a connection in login phase: loginIdleMs with nothing received, loginTimeoutMs from accept;
//  - a discovery session: discoveryIdleMs with nothing received, discoveryMaxMs from its login —
//    even when it keeps sending;
//  - a Normal session has neither (the NOP-In ping watches it; off here).
// Time is a ManualClock: the test moves it and checks the target's counters, then waits only for
// the close to reach the test's socket.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestInitiator } from './helpers/initiator.js';
import { INITIATOR, IQN, inProcessTarget } from './helpers/in-process.js';
import { ManualClock } from './helpers/manual-clock.js';
import { waitFor } from '../helpers/wait.js';

const LOGIN_IDLE = 1000;
const LOGIN_TOTAL = 3000;
const DISCOVERY_IDLE = 1000;
const DISCOVERY_MAX = 5000;
let clock: ManualClock;
let t: Awaited<ReturnType<typeof inProcessTarget>>;

beforeEach(async () => {
  clock = new ManualClock();
  t = await inProcessTarget({
    def: { chap: undefined },
    opts: { clock, loginIdleMs: LOGIN_IDLE, loginTimeoutMs: LOGIN_TOTAL, discoveryIdleMs: DISCOVERY_IDLE, discoveryMaxMs: DISCOVERY_MAX, pingIdleMs: 0 },
  });
});
afterEach(async () => {
  await t.done();
});

async function discoverySession(): Promise<TestInitiator> {
  const i = await TestInitiator.connect(t.port);
  const r = await i.login({ initiator: 'iqn.2026-12.example.client:d' });
  assert.deepEqual([r.statusClass, r.statusDetail], [0, 0], 'discovery login');
  return i;
}

test('(b) an idle discovery session is closed at discoveryIdleMs, not before', async () => {
  const i = await discoverySession();
  clock.advance(DISCOVERY_IDLE - 1);
  assert.equal(t.target.metrics.discoveryTimeouts, 0, 'still within the idle deadline');
  clock.advance(1);
  assert.equal(await i.waitClosed(2000), true, 'closed at the idle deadline');
  assert.equal(t.target.metrics.discoveryTimeouts, 1);
  await waitFor(() => t.target.metrics.discoverySessions === 0, { what: 'the discovery slot is given back' });
});

test('(b) a discovery session that keeps sending is closed at discoveryMaxMs all the same', async () => {
  const i = await discoverySession();
  // A NOP-Out every 500 ms (never idle for DISCOVERY_IDLE); the last step reaches DISCOVERY_MAX.
  for (let elapsed = 0; elapsed < DISCOVERY_MAX; elapsed += 500) {
    assert.equal(await i.nop(), true, `answered at +${elapsed} ms`);
    clock.advance(500);
  }
  assert.equal(await i.waitClosed(2000), true, 'closed at the total deadline');
  assert.equal(t.target.metrics.discoveryTimeouts, 1);
});

test('a Normal session has no discovery deadlines', async () => {
  const i = await TestInitiator.connect(t.port);
  assert.equal((await i.login({ initiator: INITIATOR, target: IQN })).statusClass, 0);
  clock.advance(10 * DISCOVERY_MAX);
  assert.equal(await i.nop(), true, 'still served');
  assert.equal(t.target.metrics.discoveryTimeouts + t.target.metrics.loginTimeouts, 0);
  await i.logout();
});

test('a connection that sends nothing is closed at loginIdleMs', async () => {
  const i = await TestInitiator.connect(t.port);
  await waitFor(() => t.target.metrics.connections === 1, { what: 'the target accepted it' });
  clock.advance(LOGIN_IDLE - 1);
  assert.equal(t.target.metrics.loginTimeouts, 0);
  clock.advance(1);
  assert.equal(await i.waitClosed(2000), true, 'closed at the login idle deadline');
  assert.equal(t.target.metrics.loginTimeouts, 1);
  await waitFor(() => t.target.metrics.loginConnections === 0, { what: 'the login slot is given back' });
});

test('a login trickled a byte at a time is closed at loginTimeoutMs from accept', async () => {
  const i = await TestInitiator.connect(t.port);
  await waitFor(() => t.target.metrics.connections === 1, { what: 'the target accepted it' });
  // A byte every 500 ms (never idle for LOGIN_IDLE); the last step reaches LOGIN_TOTAL.
  for (let elapsed = 0; elapsed < LOGIN_TOTAL; elapsed += 500) {
    assert.equal(t.target.metrics.loginTimeouts, 0, `open at +${elapsed} ms`);
    const before = t.target.metrics.bytesIn;
    i.send(Buffer.of(0x43)); // part of a Login Request BHS, never finished
    await waitFor(() => t.target.metrics.bytesIn > before, { what: 'the byte arrived' });
    clock.advance(500);
  }
  assert.equal(await i.waitClosed(2000), true, 'closed at the total login deadline');
  assert.equal(t.target.metrics.loginTimeouts, 1);
});
