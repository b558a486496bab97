// Router Solicitation / Advertisement codec: fixtures written byte by byte from RFC 4861 §4.1/§4.2
// (not by the encoder under test), RFC 4861 §6.1.1 validity checks, and malformed input: every
// truncation and random bytes give a DecodeError or a reason, never another exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeRouterAdvertisement,
  decodeRouterSolicitation,
  encodeRouterAdvertisement,
  invalidSolicitation,
  isLinkLocal,
  isUnspecified,
} from '../../src/dhcp/ra-packet.js';
import { DecodeError } from '../../src/errors.js';

// What iPXE's ndp_tx_router_solicitation sends: type 133, code 0, checksum, reserved, then a
// source link-layer address option (type 1, length 1 = 8 bytes) with the NIC's MAC.
const IPXE_RS = Buffer.from('8500abcd00000000' + '0101525400123456', 'hex');

test('the RA netroot sends: 16 bytes, type 134, hop limit/flags/lifetime/timers 0, no options', () => {
  const b = encodeRouterAdvertisement();
  assert.equal(b.toString('hex'), '86000000' + '00' + '00' + '0000' + '00000000' + '00000000');
  const ra = decodeRouterAdvertisement(b);
  assert.deepEqual(ra, {
    code: 0,
    curHopLimit: 0,
    managed: false,
    other: false,
    flags: 0,
    routerLifetime: 0,
    reachableTimeMs: 0,
    retransTimerMs: 0,
    options: [],
  });
});

test('RA decoder reads M, O, lifetime and options of a real-router RA', () => {
  // M=1 O=1, lifetime 1800, reachable 30000 ms, retrans 1000 ms, MTU option (type 5, len 1).
  const b = Buffer.from('8600000040c00708' + '00007530' + '000003e8' + '0501000000000500', 'hex');
  const ra = decodeRouterAdvertisement(b);
  assert.equal(ra.curHopLimit, 64);
  assert.equal(ra.managed, true);
  assert.equal(ra.other, true);
  assert.equal(ra.routerLifetime, 1800);
  assert.equal(ra.reachableTimeMs, 30000);
  assert.equal(ra.retransTimerMs, 1000);
  assert.deepEqual(
    ra.options.map((o) => [o.type, o.body.length]),
    [[5, 6]],
  );
});

test("iPXE's solicitation decodes with its source link-layer address and is valid", () => {
  const rs = decodeRouterSolicitation(IPXE_RS);
  assert.equal(rs.code, 0);
  assert.equal(rs.sourceLinkLayer?.toString('hex'), '525400123456');
  assert.equal(invalidSolicitation(IPXE_RS, 'fe80::5054:ff:fe12:3456', 255), null);
  // A bare RS (Linux without an address yet sends one from ::, no options) is valid too.
  assert.equal(invalidSolicitation(Buffer.from('8500000000000000', 'hex'), '::', 255), null);
});

test('RFC 4861 §6.1.1: invalid solicitations are named, not answered', () => {
  assert.match(invalidSolicitation(IPXE_RS, 'fe80::1', 64)!, /hop limit 64/);
  assert.match(invalidSolicitation(IPXE_RS, 'fe80::1', -1)!, /hop limit/);
  const code1 = Buffer.from(IPXE_RS);
  code1[1] = 1;
  assert.match(invalidSolicitation(code1, 'fe80::1', 255)!, /code 1/);
  assert.match(invalidSolicitation(IPXE_RS, '::', 255)!, /unspecified/);
  assert.match(invalidSolicitation(Buffer.from('850000000000', 'hex'), 'fe80::1', 255)!, /reserved at byte 4/);
  assert.match(invalidSolicitation(Buffer.from('8500000000000000' + '0100', 'hex'), 'fe80::1', 255)!, /length 0/);
  assert.match(invalidSolicitation(Buffer.from('8500000000000000' + '0102525400123456', 'hex'), 'fe80::1', 255)!, /runs past/);
  assert.match(invalidSolicitation(Buffer.from('8600000000000000', 'hex'), 'fe80::1', 255)!, /not a Router Solicitation/);
  assert.match(invalidSolicitation(Buffer.alloc(0), 'fe80::1', 255)!, /type at byte 0/);
});

test('every truncation of a solicitation and of an advertisement is a DecodeError naming a byte offset', () => {
  const ra = Buffer.from('8600000040c00708' + '00007530' + '000003e8' + '0501000000000500', 'hex');
  for (const [buf, decode] of [
    [IPXE_RS, decodeRouterSolicitation],
    [ra, decodeRouterAdvertisement],
  ] as const) {
    for (let n = 0; n < buf.length; n++) {
      if (n === 8 && buf === IPXE_RS) continue; // a bare RS is complete
      if (n === 16 && buf === ra) continue;
      assert.throws(
        () => decode(buf.subarray(0, n)),
        (e: unknown) => e instanceof DecodeError && /at byte \d+/.test(e.message),
        `length ${n}`,
      );
    }
  }
});

test('random bytes never throw out of invalidSolicitation (fuzz, 20,000 inputs)', () => {
  let seed = 23;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let i = 0; i < 20_000; i++) {
    const b = Buffer.alloc(rnd() % 64);
    for (let j = 0; j < b.length; j++) b[j] = rnd();
    if (i % 2 === 0 && b.length > 0) b[0] = 133;
    const why = invalidSolicitation(b, i % 3 === 0 ? '::' : 'fe80::1', 255);
    assert.ok(why === null || typeof why === 'string');
  }
});

test('address classes', () => {
  for (const a of ['::', '0:0:0:0:0:0:0:0', '0::0']) assert.equal(isUnspecified(a), true, a);
  for (const a of ['::1', 'fe80::1', '2001:db8::1']) assert.equal(isUnspecified(a), false, a);
  for (const a of ['fe80::1', 'FE80::5054:ff:fe12:3456', 'febf::1']) assert.equal(isLinkLocal(a), true, a);
  for (const a of ['fec0::1', '2001:db8::1', '::', 'ff02::1']) assert.equal(isLinkLocal(a), false, a);
});
