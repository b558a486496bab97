import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ackTimeline, parseAckDelays, parseAckStamps, parsePerfdhcp, percentile } from '../../bench/lib/perfdhcp.js';

// Final report of perfdhcp 2.2 (Debian kea-admin), captured from a run against dnsmasq.
const REPORT = `Running: perfdhcp -4 -r 1500 -R 500000 -p 5 -l 10.32.0.2 10.32.0.1
Scenario: basic.
Multi-thread mode enabled.
***Rate statistics***
Rate: 246.751 4-way exchanges/second, expected rate: 1500

***Malformed Packets***
Malformed packets: 0
***Statistics for: DISCOVER-OFFER***
sent packets: 7499
received packets: 1492
drops: 6007
drops ratio: 80.104 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 0.601 ms
avg delay: 244.118 ms
max delay: 663.790 ms
std deviation: 164.647 ms
collected packets: 85

***Statistics for: REQUEST-ACK***
sent packets: 1492
received packets: 1234
drops: 258
drops ratio: 17.292 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 2.355 ms
avg delay: 242.984 ms
max delay: 669.461 ms
std deviation: 166.784 ms
collected packets: 1
`;

test('perfdhcp report: rate, per-exchange counts, ACK delay, drops = DISCOVERs that did not end in an ACK', () => {
  const r = parsePerfdhcp(1500, REPORT);
  assert.deepEqual(
    { ...r, dropPercent: Number(r.dropPercent.toFixed(3)) },
    {
      offered: 1500,
      rate: 246.751,
      discoversSent: 7499,
      offersReceived: 1492,
      requestsSent: 1492,
      acksReceived: 1234,
      ackDelayMs: 242.984,
      dropPercent: 83.544,
      ackDelaysMs: null,
      ackStamps: null,
    },
  );
});

test('perfdhcp report without the statistics it must have: an error naming the missing field', () => {
  assert.throws(
    () => parsePerfdhcp(100, 'Rate: 12 4-way exchanges/second\n'),
    (e: Error & { code?: string }) => e.code === 'E_BENCH_PARSE' && /DISCOVER-OFFER sent packets/.test(e.message),
  );
  assert.throws(
    () => parsePerfdhcp(100, 'garbage'),
    (e: Error & { code?: string }) => e.code === 'E_BENCH_PARSE' && /Rate/.test(e.message),
  );
});

// The tail of `perfdhcp -x t` (perfdhcp 2.2 against Kea): the report, then one stamp pair per
// successful exchange, DISCOVER-OFFER first, REQUEST-ACK second.
const STAMPED = `${REPORT.replace('received packets: 1234', 'received packets: 4')}
***Timestamps for packets: DISCOVER-OFFER***
sent / received: 000000.002658 / 000000.003767
sent / received: 000000.012656 / 000000.013239

***Timestamps for packets: REQUEST-ACK***
sent / received: 000000.003866 / 000000.004524
sent / received: 000000.013385 / 000000.013757
sent / received: 000001.018105 / 000001.038307
sent / received: 000002.023603 / 000002.024067
`;

test('perfdhcp -x t: REQUEST-ACK delays of every ACKed exchange, in ms, sorted; the DISCOVER-OFFER stamps are not mixed in', () => {
  const r = parsePerfdhcp(1500, STAMPED, true);
  assert.equal(r.acksReceived, 4);
  assert.deepEqual(
    r.ackDelaysMs?.map((d) => Number(d.toFixed(3))),
    [0.372, 0.464, 0.658, 20.202],
  );
  assert.equal(parsePerfdhcp(1500, STAMPED).ackDelaysMs, null, 'without timestamps asked for, none are read');
  assert.deepEqual(parseAckDelays('***Timestamps for packets: REQUEST-ACK***\n\n'), []);
});

test('perfdhcp -x t: a missing section, a line that is not a stamp pair, or received before sent is an error', () => {
  const bad = (text: string, re: RegExp): void =>
    assert.throws(
      () => parseAckDelays(text),
      (e: Error & { code?: string }) => e.code === 'E_BENCH_PARSE' && re.test(e.message),
    );
  bad(REPORT, /no REQUEST-ACK timestamps/);
  bad('***Timestamps for packets: REQUEST-ACK***\nsent / received: 1.5 / x\n', /not understood/);
  // A whole second has no fraction in perfdhcp's text; it is a time, not a malformed line.
  const [d] = parseAckDelays('***Timestamps for packets: REQUEST-ACK***\nsent / received: 000001.999882 / 000002\n');
  assert.ok(Math.abs(d! - 0.118) < 1e-9, `delay ${d} ms`);
  bad('***Timestamps for packets: REQUEST-ACK***\nsent / received: 000002.000000 / 000001.000000\n', /received before sent/);
  // a later section ends it
  assert.deepEqual(
    parseAckDelays('***Timestamps for packets: REQUEST-ACK***\nsent / received: 1.000000 / 1.002000\n***Templates***\nzz\n'),
    [2.0000000000000018],
  );
});

test('percentile: nearest rank over an ascending array; empty gives NaN; p outside (0, 100] is refused', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  assert.equal(percentile(xs, 50), 50);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile(xs, 100), 100);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([1, 2, 3], 50), 2);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.throws(() => percentile(xs, 0), RangeError);
  assert.throws(() => percentile(xs, 101), RangeError);
});

test('perfdhcp -x t: the stamps in send order, and the ACK-delay timeline by window from the first REQUEST', () => {
  const r = parsePerfdhcp(1500, STAMPED, true);
  assert.equal(r.ackStamps?.length, 4);
  assert.deepEqual(
    r.ackStamps?.map(([, d]) => Number(d.toFixed(3))).sort((a, b) => a - b),
    r.ackDelaysMs?.map((d) => Number(d.toFixed(3))),
  );
  const stamps: Array<[number, number]> = [
    [10.0, 1],
    [10.2, 30],
    [10.6, 2],
    [11.7, 3],
    [11.9, 5],
  ];
  assert.deepEqual(ackTimeline(stamps, 0.5), [
    [0, 2, 30, 30],
    [0.5, 1, 2, 2],
    [1.5, 2, 5, 5],
  ]);
  assert.deepEqual(ackTimeline([], 0.5), []);
  assert.throws(() => parseAckStamps('no section'), /no REQUEST-ACK timestamps/);
});
