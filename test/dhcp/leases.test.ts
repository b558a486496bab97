import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LeasePool } from '../../src/dhcp/index.js';
import { EXHAUSTED_RETRY_MS } from '../../src/dhcp/leases.js';
import { tempStateDir } from '../helpers/tmp.js';

const CONFIG = { start: '10.32.0.10', end: '10.39.255.250', leaseSeconds: 3600 };
const mac = (i: number): string =>
  `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

test('group commit: concurrent leases share fdatasyncs, and each resolves only once a completed fdatasync covers its record', async () => {
  const dir = tempStateDir('nrt-leases-');
  const file = join(dir, 'leases');
  const pool = new LeasePool(CONFIG, file);
  pool.open();
  const N = 300;
  const seen: boolean[] = [];
  const commits: Promise<void>[] = [];
  for (let i = 0; i < N; i++) {
    const ip = pool.candidate(mac(i), null);
    assert.ok(ip);
    commits.push(
      pool.commit(mac(i), ip).then(() => {
        // Resolved only once an fdatasync that began after this record was written has completed:
        // the journal length that sync covered reaches past the record's last byte.
        const text = readFileSync(file, 'utf8');
        const at = text.indexOf(`lease ${mac(i)} ${ip} `);
        seen[i] = at >= 0 && pool.syncedBytes >= Buffer.byteLength(text.slice(0, text.indexOf('\n', at) + 1));
      }),
    );
    // half of them arrive in a later event-loop turn, while the first batch is syncing
    if (i === N / 2) await new Promise((r) => setImmediate(r));
  }
  await Promise.all(commits);
  assert.equal(seen.filter(Boolean).length, N);
  assert.ok(pool.syncs >= 2 && pool.syncs < N / 10, `${pool.syncs} fdatasyncs for ${N} leases`);
  assert.equal(pool.syncedBytes, pool.writtenBytes);
  assert.equal(pool.writtenBytes, Buffer.byteLength(readFileSync(file, 'utf8')));
  await pool.close();
  rmSync(dir, { recursive: true });
});

test('close() waits for the sync in flight and writes what is still queued; a reopened pool has every lease', async () => {
  const dir = tempStateDir('nrt-leases-');
  const file = join(dir, 'leases');
  const pool = new LeasePool(CONFIG, file);
  pool.open();
  const ips: string[] = [];
  const commits: Promise<void>[] = [];
  for (let i = 0; i < 100; i++) {
    const ip = pool.candidate(mac(i), null)!;
    ips.push(ip);
    commits.push(pool.commit(mac(i), ip));
  }
  const closing = pool.close(); // not awaiting the commits first
  await Promise.all([closing, ...commits]);
  const again = new LeasePool(CONFIG, file);
  again.open();
  assert.equal(again.size, 100);
  for (let i = 0; i < 100; i++) assert.equal(again.owns(mac(i), ips[i]!), true, mac(i));
  // and a new machine gets none of those addresses
  const next = again.candidate(mac(1000), ips[5]!);
  assert.ok(next && !ips.includes(next), `got ${next}`);
  await again.close();
  rmSync(dir, { recursive: true });
});

test('allocation: distinct addresses in order, requested address honoured when free, a full pool says so until one is released or expires', async () => {
  // An injected clock: expiry and the full-pool memo are checked at their exact edges, no sleeping.
  let now = 1_700_000_000_000;
  const pool = new LeasePool({ start: '10.9.0.1', end: '10.9.0.3', leaseSeconds: 1 }, null, () => now);
  pool.open();
  const got: string[] = [];
  for (let i = 0; i < 3; i++) {
    const ip = pool.candidate(mac(i), i === 0 ? '10.9.0.3' : null)!;
    got.push(ip);
    await pool.commit(mac(i), ip);
  }
  assert.deepEqual(got, ['10.9.0.3', '10.9.0.1', '10.9.0.2']);
  assert.equal(pool.candidate(mac(0), null), '10.9.0.3'); // its own lease again
  assert.equal(pool.candidate(mac(9), null), null);
  assert.equal(pool.candidate(mac(9), '10.9.0.2'), null); // taken
  assert.equal(pool.candidate(mac(10), null), null); // remembered as full
  await pool.release(mac(1));
  assert.equal(pool.candidate(mac(9), null), '10.9.0.1');
  await pool.commit(mac(9), '10.9.0.1'); // expires at now + 1000, like the others
  assert.equal(pool.candidate(mac(10), null), null); // full again, memo set at `now`
  // leases last 1 s: one ms before they expire the pool is still full; at the expiry instant
  // (lease live while expires > now) and with the memo run out, addresses come back
  now += 999;
  assert.equal(pool.candidate(mac(10), null), null);
  assert.equal(pool.candidate(mac(10), '10.9.0.2'), null, 'a requested address is still taken too');
  now += 1;
  assert.equal(EXHAUSTED_RETRY_MS, 1000);
  assert.equal(pool.candidate(mac(10), '10.9.0.2'), '10.9.0.2', 'requested address free at its expiry');
  assert.ok(pool.candidate(mac(10), null)?.startsWith('10.9.0.'));
  await pool.close();
});

test('full-pool memo: trusted for EXHAUSTED_RETRY_MS, then the pool is walked again; a decline blocks an address for leaseSeconds', async () => {
  const t0 = 1_700_000_000_000;
  let now = t0;
  const pool = new LeasePool({ start: '10.9.0.1', end: '10.9.0.1', leaseSeconds: 1 }, null, () => now);
  pool.open();
  await pool.commit(mac(1), pool.candidate(mac(1), null)!); // expires at t0 + 1000
  now = t0 + 500;
  assert.equal(pool.candidate(mac(2), null), null); // walked: full, memo at t0 + 500
  // The lease expires at t0 + 1000 without a release: the memo hides it until t0 + 1500.
  now = t0 + 1000;
  assert.equal(pool.candidate(mac(2), null), null);
  now = t0 + 1499;
  assert.equal(pool.candidate(mac(2), null), null);
  now = t0 + 1500;
  assert.equal(pool.candidate(mac(2), null), '10.9.0.1');
  await pool.commit(mac(2), '10.9.0.1');
  // A decline releases the address and blocks it for leaseSeconds, to the millisecond.
  const declinedAt = now;
  await pool.decline(mac(2), '10.9.0.1');
  assert.equal(pool.owns(mac(2), '10.9.0.1'), false);
  now = declinedAt + 1; // this walk's memo lasts past the decline's end: the requested-address check decides alone
  assert.equal(pool.candidate(mac(3), '10.9.0.1'), null);
  now = declinedAt + 999;
  assert.equal(pool.candidate(mac(3), '10.9.0.1'), null);
  now = declinedAt + 1000;
  assert.equal(pool.candidate(mac(3), '10.9.0.1'), '10.9.0.1');
  await pool.close();
});

test('journal replay keeps complete records only: a torn last line (kill -9 mid-write) and garbage lines are ignored', async () => {
  const dir = tempStateDir('nrt-leases-');
  const file = join(dir, 'leases');
  const far = Date.now() + 3_600_000;
  writeFileSync(
    file,
    [
      `lease ${mac(1)} 10.32.0.10 ${far}`,
      `lease ${mac(2)} 10.32.0.11 ${far}`,
      `release ${mac(2)}`,
      `lease ${mac(3)} 10.32.0.12 12abc`,
      `lease not-a-mac 10.32.0.13 ${far}`,
      `lease ${mac(4)} 10.32.0.300 ${far}`,
      `lease ${mac(5)} 10.32.0.15 ${far} extra`,
    ].join('\n') + `\nlease ${mac(6)} 10.32.0.16 17`,
  );
  const pool = new LeasePool(CONFIG, file);
  pool.open();
  assert.equal(pool.size, 1);
  assert.equal(pool.owns(mac(1), '10.32.0.10'), true);
  for (const [i, ip] of [
    [2, '10.32.0.11'],
    [3, '10.32.0.12'],
    [5, '10.32.0.15'],
    [6, '10.32.0.16'],
  ] as const)
    assert.equal(pool.owns(mac(i), ip), false, mac(i));
  await pool.close();
  // compaction on open rewrote the journal with the live lease only
  assert.equal(readFileSync(file, 'utf8'), `lease ${mac(1)} 10.32.0.10 ${far}\n`);
  rmSync(dir, { recursive: true });
});

test('a pool that was changed: journal records outside it are dropped at replay; commit refuses an address outside it; MACs are journaled in lower case', async () => {
  const dir = tempStateDir('nrt-leases-');
  const file = join(dir, 'leases');
  const far = Date.now() + 3_600_000;
  writeFileSync(file, `lease ${mac(1)} 10.9.0.5 ${far}\nlease ${mac(2)} 10.9.0.50 ${far}\nlease ${mac(3)} 10.9.0.1 ${far}\n`);
  const pool = new LeasePool({ start: '10.9.0.2', end: '10.9.0.10', leaseSeconds: 3600 }, file);
  pool.open();
  assert.equal(pool.size, 1);
  assert.equal(pool.owns(mac(1), '10.9.0.5'), true);
  assert.equal(pool.candidate(mac(2), '10.9.0.50'), '10.9.0.2', 'the old address is not handed out again');
  assert.throws(() => pool.commit(mac(2), '10.9.0.50'), RangeError);
  assert.throws(() => pool.commit('not-a-mac', '10.9.0.3'), RangeError);
  await pool.commit('02:AA:00:00:00:07', '10.9.0.3');
  assert.equal(pool.owns('02:aa:00:00:00:07', '10.9.0.3'), true);
  await pool.close();
  assert.equal(readFileSync(file, 'utf8'), `lease ${mac(1)} 10.9.0.5 ${far}\nlease 02:aa:00:00:00:07 10.9.0.3 ${readFileSync(file, 'utf8').split(' ').at(-1)}`);
  rmSync(dir, { recursive: true });
});
