import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePerfdhcp } from '../../bench/lib/perfdhcp.js';

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
