import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseTable, macToNumber, numberToMac } from '../../src/dhcp/lease-table.js';

test('MAC text ↔ number: both cases in, lower case out; anything but aa:bb:cc:dd:ee:ff is -1', () => {
  assert.equal(macToNumber('00:00:00:00:00:00'), 0);
  assert.equal(macToNumber('ff:ff:ff:ff:ff:ff'), 2 ** 48 - 1);
  assert.equal(macToNumber('02:AB:cd:00:10:ff'), 0x02abcd0010ff);
  assert.equal(numberToMac(0x02abcd0010ff), '02:ab:cd:00:10:ff');
  assert.equal(numberToMac(2 ** 48 - 1), 'ff:ff:ff:ff:ff:ff');
  for (const bad of [
    '',
    '02:ab:cd:00:10',
    '02:ab:cd:00:10:ff:',
    '02-ab-cd-00-10-ff',
    '02:ab:cd:00:10:fg',
    '02:ab:cd:00:1:fff',
    ' 2:ab:cd:00:10:ff',
    '02:ab:cd:00:10:f\u00ff',
  ])
    assert.equal(macToNumber(bad), -1, JSON.stringify(bad));
});

test('lease table: put, move, take over, remove; pages allocated only where addresses are used', () => {
  const t = new LeaseTable(2 ** 24); // a /8 pool: nothing allocated until used
  assert.equal(t.offsetOf(1), -1);
  assert.equal(t.holderAt(2 ** 24 - 1), -1);
  assert.equal(t.expiresAt(5), 0);
  t.put(1, 5, 1000);
  t.put(2, 2 ** 24 - 1, 2000);
  assert.deepEqual([t.offsetOf(1), t.holderAt(5), t.expiresAt(5), t.count], [5, 1, 1000, 2]);
  t.put(1, 6, 1500); // mac 1 moves: its old address is free again
  assert.deepEqual([t.offsetOf(1), t.holderAt(5), t.expiresAt(5), t.holderAt(6), t.count], [6, -1, 0, 1, 2]);
  t.put(3, 6, 1700); // mac 3 takes address 6 over: mac 1 holds nothing
  assert.deepEqual([t.offsetOf(1), t.offsetOf(3), t.holderAt(6), t.expiresAt(6), t.count], [-1, 6, 3, 1700, 2]);
  assert.equal(t.remove(3), true);
  assert.equal(t.remove(3), false);
  assert.deepEqual([t.holderAt(6), t.count], [-1, 1]);
  const seen: number[][] = [];
  t.forEach((mac, off, exp) => {
    seen.push([mac, off, exp]);
  });
  assert.deepEqual(seen, [[2, 2 ** 24 - 1, 2000]]);
  assert.throws(() => t.put(4, 2 ** 24, 1), RangeError);
  assert.throws(() => t.put(-1, 0, 1), RangeError);
  assert.throws(() => t.put(2 ** 48, 0, 1), RangeError);
  assert.throws(() => new LeaseTable(0), RangeError);
});

test('lease table against a Map model: 200,000 random puts and removes (growth, collisions, backward-shift deletion)', () => {
  const t = new LeaseTable(50_000);
  const byMac = new Map<number, number>();
  const byOff = new Map<number, number>();
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  // MACs from a small range and from the whole 48-bit space: clusters and spread keys both.
  const macOf = (): number => (rnd(2) ? rnd(30_000) : rnd(2 ** 24) * 2 ** 24 + rnd(2 ** 24));
  const macs: number[] = [];
  for (let i = 0; i < 200_000; i++) {
    if (rnd(3) === 0 && macs.length > 0) {
      const m = macs[rnd(macs.length)]!;
      const had = byMac.has(m);
      assert.equal(t.remove(m), had);
      if (had) {
        byOff.delete(byMac.get(m)!);
        byMac.delete(m);
      }
    } else {
      const m = macOf();
      macs.push(m);
      const off = rnd(50_000);
      t.put(m, off, i + 1);
      const prevHolder = byOff.get(off);
      if (prevHolder !== undefined) byMac.delete(prevHolder);
      const prevOff = byMac.get(m);
      if (prevOff !== undefined) byOff.delete(prevOff);
      byMac.set(m, off);
      byOff.set(off, m);
    }
  }
  assert.equal(t.count, byMac.size);
  for (const m of macs) assert.equal(t.offsetOf(m), byMac.get(m) ?? -1);
  for (let off = 0; off < 50_000; off++) assert.equal(t.holderAt(off), byOff.get(off) ?? -1);
  let n = 0;
  t.forEach((mac, off) => {
    n++;
    assert.equal(byMac.get(mac), off);
  });
  assert.equal(n, byMac.size);
});

test('lease table growth: 100,000 leases (the MAC hash doubles past its initial 64 Ki slots), every lookup right before and after removing half', () => {
  const t = new LeaseTable(200_000);
  const macOf = (i: number): number => 0x020000000000 + i * 7919; // spread, all distinct
  for (let i = 0; i < 100_000; i++) t.put(macOf(i), 2 * i, i);
  assert.equal(t.count, 100_000);
  for (let i = 0; i < 100_000; i++) assert.equal(t.offsetOf(macOf(i)), 2 * i);
  for (let i = 0; i < 100_000; i += 2) assert.equal(t.remove(macOf(i)), true);
  assert.equal(t.count, 50_000);
  for (let i = 0; i < 100_000; i++) {
    assert.equal(t.offsetOf(macOf(i)), i % 2 ? 2 * i : -1);
    assert.equal(t.holderAt(2 * i), i % 2 ? macOf(i) : -1);
  }
});
