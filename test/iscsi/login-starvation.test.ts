// Issue #14 item 1, "iSCSI login starvation", shown with small limits: discovery sessions (no
// CHAP) and connections that never finish their login cannot starve a node's Normal CHAP login.
//  - discovery sessions have their own pool (maxDiscoverySessions, per source too) and do not
//    count against maxSessions;
//  - connections in login phase are capped per source address and in total; a connection beyond
//    a cap is reset at once, counted in metrics.connectionsRefused, and costs the target nothing.
// 127.0.0.2.. are further loopback addresses: other "hosts" on the provisioning network.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { SourceLimiter } from '../../src/iscsi/admission.js';
import type { IscsiTargetOptions } from '../../src/iscsi/index.js';
import { TestInitiator, cdb } from './helpers/initiator.js';
import { INITIATOR, IQN, inProcessTarget } from './helpers/in-process.js';
import { ManualClock } from './helpers/manual-clock.js';
import { waitFor } from '../helpers/wait.js';

const CHAP = { user: 'node1', secret: 'Secret0123456789' };
let t: Awaited<ReturnType<typeof inProcessTarget>> | undefined;
const open: TestInitiator[] = [];

afterEach(async () => {
  for (const i of open.splice(0)) i.close();
  await t?.done();
  t = undefined;
});

/** A target with one CHAP-protected LUN; the manual clock keeps every deadline out of the way. */
async function target(opts: Partial<IscsiTargetOptions>): Promise<NonNullable<typeof t>> {
  t = await inProcessTarget({ def: { chap: CHAP }, opts: { clock: new ManualClock(), ...opts } });
  return t;
}

async function connect(from: string): Promise<TestInitiator> {
  const i = await TestInitiator.connect(t!.port, '127.0.0.1', from);
  open.push(i);
  return i;
}

/** The legitimate path: a node's Normal login with CHAP, then a READ of block 0. */
async function nodeLogsInAndReads(from: string): Promise<void> {
  const i = await connect(from);
  const r = await i.login({ initiator: INITIATOR, target: IQN, chap: CHAP });
  assert.deepEqual([r.statusClass, r.statusDetail], [0, 0], `the node's CHAP login from ${from} succeeds`);
  const rd = await i.scsi(cdb.rw10(0x28, 0, 1), { readLength: 512 });
  assert.equal(rd.status, 0, 'READ(10) of block 0');
  assert.equal(rd.data.length, 512);
  await i.logout();
}

/** A Discovery login (no CHAP); returns its status as [class, detail]. */
async function discovery(from: string, n: number): Promise<[number, number]> {
  const i = await connect(from);
  const r = await i.login({ initiator: `iqn.2026-12.example.attacker:d${n}` });
  return [r.statusClass, r.statusDetail];
}

/** A TCP connection that never sends a byte. */
async function bare(from: string): Promise<TestInitiator> {
  return connect(from);
}

/**
 * True when the target turns a new connection away at once: reset before the connect completes
 * (on loopback the RST can beat the handshake's completion), or closed right after.
 */
async function refusedAtOnce(from: string): Promise<boolean> {
  let i: TestInitiator;
  try {
    i = await connect(from);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ECONNRESET';
  }
  return i.waitClosed(2000);
}

test('SourceLimiter: per-source and total caps; release gives a slot back', () => {
  const l = new SourceLimiter(2, 3);
  assert.equal(l.take('a'), undefined);
  assert.equal(l.take('a'), undefined);
  assert.equal(l.take('a'), 'per-source');
  assert.equal(l.take('b'), undefined);
  assert.equal(l.take('c'), 'total');
  assert.equal(l.size, 3);
  l.release('a');
  assert.equal(l.heldBy('a'), 1);
  assert.equal(l.take('c'), undefined);
  l.release('nobody');
  assert.equal(l.size, 3, 'releasing what was never taken changes nothing');
});

test('(a) idle discovery sessions from one source: refused beyond the per-source cap, and a Normal CHAP login still succeeds', async () => {
  // maxSessions 4: before the fix the fifth discovery session got 0x0302, and so did the node.
  const { target: tg } = await target({ maxSessions: 4, maxDiscoverySessions: 16, maxDiscoverySessionsPerSource: 3 });
  const statuses: Array<[number, number]> = [];
  for (let n = 0; n < 10; n++) statuses.push(await discovery('127.0.0.1', n));
  await nodeLogsInAndReads('127.0.0.1');
  assert.deepEqual(
    statuses.slice(0, 3),
    [
      [0, 0],
      [0, 0],
      [0, 0],
    ],
    'three discovery sessions up',
  );
  assert.deepEqual(statuses.slice(3), Array(7).fill([3, 2]), 'the rest: 0x0302 out of resources');
  assert.equal(tg.metrics.discoveryRefused, 7);
  assert.equal(tg.metrics.discoverySessions, 3, 'the three idle discovery sessions are still held');
});

test('(a) the discovery pool filled from several sources does not touch the Normal sessions', async () => {
  const { target: tg } = await target({ maxSessions: 2, maxDiscoverySessions: 4, maxDiscoverySessionsPerSource: 2 });
  const statuses: Array<[number, number]> = [];
  for (const from of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) for (let n = 0; n < 3; n++) statuses.push(await discovery(from, n));
  await nodeLogsInAndReads('127.0.0.1');
  await nodeLogsInAndReads('127.0.0.2');
  assert.equal(statuses.filter(([c]) => c === 0).length, 4, 'the pool holds four discovery sessions');
  assert.equal(tg.metrics.discoveryRefused, 5);
  // The pool itself is a cap: a fifth discovery session from a fresh source is refused too.
  assert.deepEqual(await discovery('127.0.0.5', 0), [3, 2]);
});

test('(c) per-source login-phase cap: a connection beyond it is reset at once; another source still logs in', async () => {
  const { target: tg } = await target({ maxLoginConnectionsPerSource: 3, maxLoginConnections: 100 });
  const held = [await bare('127.0.0.1'), await bare('127.0.0.1'), await bare('127.0.0.1')];
  await waitFor(() => tg.metrics.connections === 3, { what: 'three connections accepted' });
  assert.equal(await refusedAtOnce('127.0.0.1'), true, 'the fourth connection from 127.0.0.1 is closed at once');
  assert.equal(tg.metrics.connectionsRefused, 1);
  assert.equal(tg.metrics.loginConnections, 3);
  assert.ok(
    held.every((h) => !h.closed),
    'the refusal touched only the new connection',
  );
  await nodeLogsInAndReads('127.0.0.2');
  // A slot given back (the client hung up) is usable again by the same source.
  held[0]!.close();
  await waitFor(() => tg.metrics.loginConnections === 2, { what: 'the closed connection released its slot' });
  await nodeLogsInAndReads('127.0.0.1');
});

test('(d) total login-phase cap: beyond it every new connection is reset; a freed slot serves a node', async () => {
  const { target: tg } = await target({ maxLoginConnectionsPerSource: 3, maxLoginConnections: 4 });
  const held = [await bare('127.0.0.1'), await bare('127.0.0.1'), await bare('127.0.0.1'), await bare('127.0.0.2')];
  await waitFor(() => tg.metrics.connections === 4, { what: 'four connections accepted' });
  assert.equal(await refusedAtOnce('127.0.0.3'), true, 'a fifth connection, from a new source, is closed at once');
  assert.equal(tg.metrics.connectionsRefused, 1);
  assert.equal(tg.metrics.connections, 4, 'the refused connection never became a Connection');
  held[0]!.close();
  await waitFor(() => tg.metrics.loginConnections === 3, { what: 'a slot freed' });
  await nodeLogsInAndReads('127.0.0.3');
});
