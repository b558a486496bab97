// RaResponder with a fake ICMPv6 I/O and an injected clock: what is answered, to whom, how often
// (the per-source and overall limits, with a flood as the attack test), start failure unwinding,
// and that nothing a client sends can throw into the socket callback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaResponder, WindowLimiter } from '../../src/dhcp/ra-responder.js';
import { encodeRouterAdvertisement } from '../../src/dhcp/ra-packet.js';
import type { Icmp6Io } from '../../src/dhcp/icmp6-socket.js';
import { waitFor } from '../helpers/wait.js';

const RS = Buffer.from('8500000000000000' + '0101525400123456', 'hex');
const NODE = 'fe80::5054:ff:fe12:3456';

type OnPacket = (data: Buffer, source: string, hopLimit: number) => void;

class FakeIo implements Icmp6Io {
  readonly sockets = new Map<number, { ifname: string; onPacket: OnPacket; closed: boolean }>();
  readonly sent: Array<{ ifname: string; data: Buffer; to: string }> = [];
  failOpen = new Set<string>();
  failSend: Error | null = null;
  private next = 0;
  open(ifname: string, onPacket: OnPacket): number {
    if (this.failOpen.has(ifname)) throw new Error(`interface ${ifname}: No such device (ENODEV)`);
    const id = this.next++;
    this.sockets.set(id, { ifname, onPacket, closed: false });
    return id;
  }
  send(id: number, data: Buffer, to: string): void {
    if (this.failSend) throw this.failSend;
    this.sent.push({ ifname: this.sockets.get(id)!.ifname, data, to });
  }
  close(id: number): void {
    this.sockets.get(id)!.closed = true;
  }
  deliver(ifname: string, data: Buffer, source: string, hopLimit = 255): void {
    for (const s of this.sockets.values()) if (s.ifname === ifname && !s.closed) s.onPacket(data, source, hopLimit);
  }
}

// Lets answers scheduled with delay 0 (a 1 ms timer, created earlier) go out first.
// fixed delay: an ordering barrier (Node runs equal-delay timers in creation order), not a wait for time to pass.
const tick = () => new Promise((r) => setTimeout(r, 1));

function setup(o: { perSource?: number; perSecond?: number; interfaces?: string[]; maxTrackedSources?: number } = {}) {
  const io = new FakeIo();
  let now = 1_000_000;
  const r = new RaResponder({
    interfaces: o.interfaces ?? ['br0'],
    maxPerSourcePerMinute: o.perSource ?? 10,
    maxPerSecond: o.perSecond ?? 100,
    io,
    now: () => now,
    answerDelayMs: () => 0,
    ...(o.maxTrackedSources ? { maxTrackedSources: o.maxTrackedSources } : {}),
  });
  return { io, r, advance: (ms: number) => (now += ms) };
}

test('a valid solicitation from a link-local address is answered by unicast with the minimal RA, on the interface it came in on', async () => {
  const { io, r } = setup({ interfaces: ['br0', 'br1'] });
  r.start();
  io.deliver('br1', RS, NODE);
  await tick();
  assert.deepEqual(
    io.sent.map((s) => [s.ifname, s.to, s.data.toString('hex')]),
    [['br1', NODE, encodeRouterAdvertisement().toString('hex')]],
  );
  assert.deepEqual(r.stats(), { received: 1, invalid: 0, limited: 0, coalesced: 0, answered: 1, sendErrors: 0 });
  await r.stop();
});

test('the answer waits for the RFC 4861 §6.2.6 delay, and solicitations meanwhile share it', async () => {
  const io = new FakeIo();
  const r = new RaResponder({ interfaces: ['br0'], maxPerSourcePerMinute: 10, maxPerSecond: 100, io, answerDelayMs: () => 30 });
  r.start();
  io.deliver('br0', RS, NODE);
  io.deliver('br0', RS, NODE);
  await tick();
  assert.equal(io.sent.length, 0, 'not before the delay');
  await waitFor(() => io.sent.length > 0, { what: 'the delayed answer' });
  assert.equal(io.sent.length, 1);
  assert.equal(r.stats().coalesced, 1);
  await r.stop();
});

test('the default delay stays under MAX_RA_DELAY_TIME (500 ms)', async () => {
  const io = new FakeIo();
  const r = new RaResponder({ interfaces: ['br0'], maxPerSourcePerMinute: 10, maxPerSecond: 100, io });
  r.start();
  const t0 = Date.now();
  io.deliver('br0', RS, NODE);
  await waitFor(() => io.sent.length > 0, { what: 'the answer', timeoutMs: 2000 });
  assert.equal(io.sent.length, 1);
  assert.ok(Date.now() - t0 < 700, `${Date.now() - t0} ms`);
  await r.stop();
});

test('invalid solicitations (hop limit, code, options) are counted and dropped', async () => {
  const { io, r } = setup();
  r.start();
  io.deliver('br0', RS, NODE, 64);
  io.deliver('br0', Buffer.from('8501000000000000', 'hex'), NODE);
  io.deliver('br0', Buffer.from('85000000000000000100', 'hex'), NODE);
  io.deliver('br0', RS, '::'); // a source link-layer option from ::
  await tick();
  assert.equal(io.sent.length, 0);
  assert.equal(r.stats().invalid, 4);
  await r.stop();
});

test('from :: or a non-link-local source the answer goes to ff02::1, at most once per 3 s per interface', async () => {
  const { io, r, advance } = setup();
  r.start();
  const bare = Buffer.from('8500000000000000', 'hex');
  io.deliver('br0', bare, '::');
  await tick();
  io.deliver('br0', RS, '2001:db8::7');
  await tick();
  advance(3000);
  io.deliver('br0', bare, '::');
  await tick();
  assert.deepEqual(
    io.sent.map((s) => s.to),
    ['ff02::1', 'ff02::1'],
  );
  assert.equal(r.stats().limited, 1);
  await r.stop();
});

test('attack: a flood of 10,000 solicitations from one address gets at most raMaxPerSourcePerMinute answers a minute; other nodes are still answered', async () => {
  const { io, r, advance } = setup({ perSource: 4 });
  r.start();
  for (let i = 0; i < 10_000; i++) {
    io.deliver('br0', RS, 'fe80::bad');
    if (i % 100 === 0) await tick(); // let pending answers go, so the limit (not coalescing) is what stops them
  }
  await tick();
  assert.equal(io.sent.filter((s) => s.to === 'fe80::bad').length, 4);
  io.deliver('br0', RS, NODE);
  await tick();
  assert.equal(io.sent.filter((s) => s.to === NODE).length, 1, 'a booting node is still answered');
  advance(60_000);
  io.deliver('br0', RS, 'fe80::bad');
  await tick();
  assert.equal(io.sent.filter((s) => s.to === 'fe80::bad').length, 5, 'a new window a minute later');
  const s = r.stats();
  assert.equal(s.received, 10_002);
  assert.equal(s.answered, 6);
  assert.equal(s.limited + s.coalesced, 10_002 - 6);
  await r.stop();
});

test('attack: spoofed sources are capped by raMaxPerSecond overall, and the source table stays bounded', async () => {
  const { io, r, advance } = setup({ perSecond: 50, maxTrackedSources: 1000 });
  r.start();
  for (let i = 0; i < 5000; i++) io.deliver('br0', RS, `fe80::${i.toString(16)}`);
  await tick();
  assert.equal(io.sent.length, 50);
  advance(1000);
  io.deliver('br0', RS, NODE);
  await tick();
  assert.equal(io.sent.at(-1)?.to, NODE, 'the next second answers again');
  await r.stop();
  const lim = new WindowLimiter(1, 60_000, 100, () => 0);
  for (let i = 0; i < 10_000; i++) lim.allow(`k${i}`);
  assert.equal(lim.size, 100);
});

test('a send error is counted, never thrown; sending resumes', async () => {
  const { io, r } = setup();
  r.start();
  io.failSend = Object.assign(new Error('sendto fe80::1: Cannot assign requested address (EADDRNOTAVAIL)'), { code: 'E_ICMP6' });
  io.deliver('br0', RS, NODE);
  await tick();
  io.failSend = null;
  io.deliver('br0', RS, 'fe80::2');
  await tick();
  assert.deepEqual(r.stats(), { received: 2, invalid: 0, limited: 0, coalesced: 0, answered: 1, sendErrors: 1 });
  await r.stop();
});

test('start() that fails on one interface closes the sockets it opened and throws a user error', () => {
  const io = new FakeIo();
  io.failOpen.add('br1');
  const r = new RaResponder({ interfaces: ['br0', 'br1'], maxPerSourcePerMinute: 10, maxPerSecond: 100, io });
  assert.throws(
    () => r.start(),
    (e: unknown) => (e as { code?: string }).code === 'E_RA_SOCKET' && /br1.*dhcp\.routerAdvertisement=false/.test((e as Error).message),
  );
  assert.deepEqual(
    [...io.sockets.values()].map((s) => [s.ifname, s.closed]),
    [['br0', true]],
  );
});

test('a kernel without IPv6 (EAFNOSUPPORT) is not an error: start() returns false and runs nothing', () => {
  const io = new FakeIo();
  io.open = () => {
    throw Object.assign(new Error('socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6): Address family not supported by protocol (EAFNOSUPPORT)'), {
      code: 'E_ICMP6',
      errno: 'EAFNOSUPPORT',
    });
  };
  const r = new RaResponder({ interfaces: ['br0'], maxPerSourcePerMinute: 10, maxPerSecond: 100, io });
  assert.equal(r.start(), false);
  assert.equal(r.start(), false, 'and can be asked again');
});

test('stop() closes every socket and drops pending answers', async () => {
  const io = new FakeIo();
  const r = new RaResponder({ interfaces: ['br0', 'br1'], maxPerSourcePerMinute: 10, maxPerSecond: 100, io, answerDelayMs: () => 20 });
  r.start();
  io.deliver('br0', RS, NODE);
  await r.stop();
  // fixed delay: an absence window past the 20 ms answer delay (the dropped answer must never go out).
  await new Promise((res) => setTimeout(res, 40));
  assert.equal(io.sent.length, 0);
  assert.ok([...io.sockets.values()].every((s) => s.closed));
  r.start(); // and it can start again
  await r.stop();
});

test('random bytes through the socket callback never throw', async () => {
  const { io, r } = setup();
  r.start();
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let i = 0; i < 5000; i++) {
    const b = Buffer.alloc(rnd() % 40);
    for (let j = 0; j < b.length; j++) b[j] = rnd();
    if (b.length > 0 && i % 2 === 0) b[0] = 133;
    io.deliver('br0', b, i % 5 === 0 ? '::' : `fe80::${i.toString(16)}`, i % 7 === 0 ? 64 : 255);
  }
  await tick();
  const s = r.stats();
  assert.equal(s.received, 5000);
  assert.equal(s.invalid + s.limited + s.coalesced + s.answered, 5000);
  await r.stop();
});
