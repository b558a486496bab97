// Pool leases for machines the store does not know (only when the operator enables a pool).
// Durable before they are announced: every change is appended to the journal (lease-journal.ts:
// group commit, a promise resolves only after an fdatasync that started after its record was
// written — so an ACK, sent on resolution, always describes a lease that survives a restart and a
// kill -9). On start the journal is replayed and compacted (rewritten with the live leases, then
// renamed); a record for an address outside the configured pool (the pool was changed) is dropped.
// The leases themselves live in typed arrays (lease-table.ts): no per-lease object for the garbage
// collector, whatever the number of leases.
import { formatIPv4, parseIPv4 } from '../net/address.js';
import { LeaseJournal } from './lease-journal.js';
import { LeaseTable, macToNumber, numberToMac } from './lease-table.js';

export interface PoolConfig {
  start: string;
  end: string;
  leaseSeconds: number;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** How long a walk that found the pool full is trusted before walking again. */
export const EXHAUSTED_RETRY_MS = 1000;

function mustMac(mac: string): number {
  const n = macToNumber(mac);
  if (n < 0) throw new RangeError(`not a MAC address: ${mac}`);
  return n;
}

export class LeasePool {
  private readonly table: LeaseTable;
  /** Declined addresses (offsets) → until when (epoch ms) they are not handed out. */
  private readonly declined = new Map<number, number>();
  private sweepDeclinedAt = 1024;
  /** When a walk last found no free address (null: not known to be full). */
  private exhaustedAt: number | null = null;
  private readonly log: LeaseJournal | null;
  private readonly start: number;
  private readonly end: number;
  private cursor: number;

  constructor(
    readonly config: PoolConfig,
    journal: string | null,
    /** The clock (epoch ms) leases, declines and the full-pool memo are measured with; tests inject one. */
    private readonly now: () => number = Date.now,
  ) {
    const s = parseIPv4(config.start);
    const e = parseIPv4(config.end);
    if (s === null || e === null || s > e) throw new RangeError(`bad DHCP pool ${config.start}-${config.end}`);
    this.start = s;
    this.end = e;
    this.cursor = s;
    this.table = new LeaseTable(e - s + 1);
    this.log = journal ? new LeaseJournal(journal) : null;
  }

  /** fdatasync calls on the journal since open (observability; tests check the grouping). */
  get syncs(): number {
    return this.log?.syncs ?? 0;
  }
  /** Journal length in bytes: everything written so far. */
  get writtenBytes(): number {
    return this.log?.writtenBytes ?? 0;
  }
  /** Journal bytes covered by the last completed fdatasync (see LeaseJournal.syncedBytes). */
  get syncedBytes(): number {
    return this.log?.syncedBytes ?? 0;
  }

  open(): void {
    if (!this.log) return;
    for (const line of this.log.records()) {
      const [kind, mac, ip, exp, extra] = line.split(' ');
      if (extra !== undefined || !mac || !MAC.test(mac)) continue;
      if (kind === 'lease' && ip && exp && /^\d{1,15}$/.test(exp)) {
        const n = parseIPv4(ip);
        if (n !== null && n >= this.start && n <= this.end) this.table.put(macToNumber(mac), n - this.start, Number(exp));
      } else if (kind === 'release' && ip === undefined) this.table.remove(macToNumber(mac));
    }
    const now = this.now();
    const live: string[] = [];
    this.table.forEach((mac, off, expires) => {
      if (expires > now) live.push(`lease ${numberToMac(mac)} ${formatIPv4(this.start + off)} ${expires}\n`);
    });
    this.log.rewrite(live.join(''));
  }

  /** Waits for the sync in flight, writes what is still queued, closes the journal. */
  async close(): Promise<void> {
    await this.log?.close();
  }

  private drop(mac: number): void {
    if (this.table.remove(mac)) this.exhaustedAt = null;
  }

  /**
   * The address for mac: its current lease, else the requested one if free, else the next free one
   * after the cursor; null when exhausted. The walk reads the typed arrays (an address is
   * formatted only once found). A walk that finds nothing is remembered until a lease is
   * released, declined, committed or EXHAUSTED_RETRY_MS passes (leases may expire): a storm of
   * DISCOVERs against a full pool costs one walk, not one per packet.
   */
  candidate(mac: string, requested: string | null): string | null {
    const own = this.table.offsetOf(mustMac(mac));
    if (own >= 0) return formatIPv4(this.start + own);
    const now = this.now();
    if (requested) {
      const n = parseIPv4(requested);
      if (n !== null && n >= this.start && n <= this.end && this.free(n - this.start, now)) return requested;
    }
    if (this.exhaustedAt !== null && now - this.exhaustedAt < EXHAUSTED_RETRY_MS) return null;
    const size = this.end - this.start + 1;
    for (let i = 0; i < size; i++) {
      const n = this.cursor;
      this.cursor = n >= this.end ? this.start : n + 1;
      if (!this.free(n - this.start, now)) continue;
      this.exhaustedAt = null;
      return formatIPv4(n);
    }
    this.exhaustedAt = now;
    return null;
  }

  /** No live lease on the address (a lease is live while expires > now) and not declined. */
  private free(off: number, now: number): boolean {
    if (this.table.holderAt(off) >= 0 && this.table.expiresAt(off) > now) return false;
    return this.declined.size === 0 || (this.declined.get(off) ?? 0) <= now;
  }

  owns(mac: string, ip: string): boolean {
    const off = this.table.offsetOf(mustMac(mac));
    return off >= 0 && parseIPv4(ip) === this.start + off;
  }

  /** Records the lease durably; resolves once it is on disk. `ip` must be in the pool. */
  commit(mac: string, ip: string): Promise<void> {
    const m = mustMac(mac);
    const n = parseIPv4(ip);
    if (n === null || n < this.start || n > this.end) throw new RangeError(`${ip} is not in the pool ${this.config.start}-${this.config.end}`);
    const off = n - this.start;
    const holder = this.table.holderAt(off);
    if (holder >= 0 && holder !== m) this.drop(holder);
    const prev = this.table.offsetOf(m);
    if (prev >= 0 && prev !== off) this.drop(m);
    const expires = this.now() + this.config.leaseSeconds * 1000;
    this.table.put(m, off, expires);
    return this.log ? this.log.append(`lease ${numberToMac(m)} ${ip} ${expires}\n`) : Promise.resolve();
  }

  release(mac: string): Promise<void> {
    const m = mustMac(mac);
    if (this.table.offsetOf(m) < 0) return Promise.resolve();
    this.drop(m);
    return this.log ? this.log.append(`release ${numberToMac(m)}\n`) : Promise.resolve();
  }

  decline(mac: string, ip: string): Promise<void> {
    const n = parseIPv4(ip);
    if (n !== null && n >= this.start && n <= this.end) {
      const now = this.now();
      // Expired declines are forgotten when the map has doubled since the last sweep (amortised
      // O(1)); keyed by pool offset, it never holds more than the pool's addresses.
      if (this.declined.size >= this.sweepDeclinedAt) {
        for (const [off, until] of this.declined) if (until <= now) this.declined.delete(off);
        this.sweepDeclinedAt = Math.max(1024, 2 * this.declined.size);
      }
      this.declined.set(n - this.start, now + this.config.leaseSeconds * 1000);
    }
    this.exhaustedAt = null;
    return this.owns(mac, ip) ? this.release(mac) : Promise.resolve();
  }

  get size(): number {
    return this.table.count;
  }
}
