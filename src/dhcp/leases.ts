// Pool leases for machines the store does not know (only when the operator enables a pool).
// Durable before they are announced: every change is appended to a journal and fdatasync'ed by a
// group commit — while one fdatasync runs (in libuv's thread pool, so the event loop keeps
// receiving), new records queue up; when it completes, its records' promises resolve and all
// queued records go out in one write + one fdatasync. A promise resolves only after an
// fdatasync that started after its record was written — so an ACK, sent on resolution, always
// describes a lease that survives a restart and a kill -9. On start the
// journal is replayed and compacted (rewritten with the live leases, then renamed).
import { closeSync, fdatasync, fdatasyncSync, openSync, readFileSync, renameSync, writeSync, existsSync } from 'node:fs';
import { formatIPv4, parseIPv4 } from '../net/address.js';

export interface PoolConfig {
  start: string;
  end: string;
  leaseSeconds: number;
}

interface Lease {
  ip: string;
  expires: number; // epoch ms
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** How long a walk that found the pool full is trusted before walking again. */
export const EXHAUSTED_RETRY_MS = 1000;

/** Writes all of `text` (a short write is continued, not lost); returns the bytes written. */
function writeAll(fd: number, text: string): number {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    const n = writeSync(fd, buf, off);
    if (n <= 0) throw new Error(`lease journal: write returned ${n}`);
    off += n;
  }
  return buf.length;
}

export class LeasePool {
  private readonly byMac = new Map<string, Lease>();
  private readonly byIp = new Map<string, string>();
  /** The same leases keyed by the address as a number (the allocation walk). */
  private readonly byIpNum = new Map<number, Lease>();
  private readonly declined = new Map<string, number>();
  /** When a walk last found no free address (null: not known to be full). */
  private exhaustedAt: number | null = null;
  private fd: number | null = null;
  private pending: Array<{ line: string; done: () => void; fail: (e: Error) => void }> = [];
  private scheduled = false;
  /** The fdatasync in flight, if any; the next batch starts when it settles. */
  private syncing: Promise<void> | null = null;
  /** fdatasync calls on the journal since open (observability; tests check the grouping). */
  syncs = 0;
  /** Journal length in bytes: everything written so far (observability). */
  writtenBytes = 0;
  /**
   * Journal bytes known durable: the length the journal had when the last completed fdatasync
   * began (set in its callback, never before). Every record whose promise has resolved ends at or
   * below it — the invariant tests check at each ACK.
   */
  syncedBytes = 0;
  private readonly start: number;
  private readonly end: number;
  private cursor: number;

  constructor(
    readonly config: PoolConfig,
    private readonly journal: string | null,
    /** The clock (epoch ms) leases, declines and the full-pool memo are measured with; tests inject one. */
    private readonly now: () => number = Date.now,
  ) {
    const s = parseIPv4(config.start);
    const e = parseIPv4(config.end);
    if (s === null || e === null || s > e) throw new RangeError(`bad DHCP pool ${config.start}-${config.end}`);
    this.start = s;
    this.end = e;
    this.cursor = s;
  }

  open(): void {
    if (!this.journal) return;
    if (existsSync(this.journal)) {
      // Only complete records count: a kill -9 during a write can leave a torn last line (never
      // ACKed, since ACKs wait for the sync), e.g. `lease <mac> <ip> 17` with half an expiry.
      const text = readFileSync(this.journal, 'utf8');
      const lines = text.split('\n');
      lines.pop(); // the text after the last newline: empty, or a torn record
      for (const line of lines) {
        const [kind, mac, ip, exp, extra] = line.split(' ');
        if (extra !== undefined || !mac || !MAC.test(mac)) continue;
        if (kind === 'lease' && ip && exp && /^\d{1,15}$/.test(exp) && parseIPv4(ip) !== null) this.set(mac, ip, Number(exp));
        else if (kind === 'release' && ip === undefined) this.drop(mac);
      }
    }
    const now = this.now();
    const live = [...this.byMac]
      .filter(([, l]) => l.expires > now)
      .map(([mac, l]) => `lease ${mac} ${l.ip} ${l.expires}\n`)
      .join('');
    const tmp = `${this.journal}.tmp`;
    const t = openSync(tmp, 'w', 0o600);
    writeAll(t, live);
    fdatasyncSync(t);
    closeSync(t);
    renameSync(tmp, this.journal);
    this.fd = openSync(this.journal, 'a', 0o600);
    this.writtenBytes = this.syncedBytes = Buffer.byteLength(live);
  }

  /** Waits for the sync in flight, writes what is still queued, closes the journal. */
  async close(): Promise<void> {
    while (this.syncing) await this.syncing;
    this.flushSync();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private set(mac: string, ip: string, expires: number): void {
    this.drop(mac);
    const lease = { ip, expires };
    this.byMac.set(mac, lease);
    this.byIp.set(ip, mac);
    const n = parseIPv4(ip);
    if (n !== null) this.byIpNum.set(n, lease);
  }
  private drop(mac: string): void {
    const l = this.byMac.get(mac);
    if (l) {
      this.byIp.delete(l.ip);
      const n = parseIPv4(l.ip);
      if (n !== null) this.byIpNum.delete(n);
      this.exhaustedAt = null;
    }
    this.byMac.delete(mac);
  }

  /**
   * The address for mac: its current lease, else the requested one if free, else the next free one
   * after the cursor; null when exhausted. The walk compares numbers (an address is formatted only
   * once found). A walk that finds nothing is remembered until a lease is released, declined,
   * committed or EXHAUSTED_RETRY_MS passes (leases may expire): a storm of DISCOVERs against a
   * full pool costs one walk, not one per packet.
   */
  candidate(mac: string, requested: string | null): string | null {
    const own = this.byMac.get(mac);
    if (own) return own.ip;
    const now = this.now();
    if (requested) {
      const n = parseIPv4(requested);
      if (n !== null && n >= this.start && n <= this.end && this.free(requested, now)) return requested;
    }
    if (this.exhaustedAt !== null && now - this.exhaustedAt < EXHAUSTED_RETRY_MS) return null;
    const size = this.end - this.start + 1;
    for (let i = 0; i < size; i++) {
      const n = this.cursor;
      this.cursor = n >= this.end ? this.start : n + 1;
      const holder = this.byIpNum.get(n);
      if (holder !== undefined && holder.expires > now) continue;
      const ip = formatIPv4(n);
      if ((this.declined.get(ip) ?? 0) > now) continue;
      this.exhaustedAt = null;
      return ip;
    }
    this.exhaustedAt = now;
    return null;
  }

  private free(ip: string, now: number): boolean {
    const holder = this.byIp.get(ip);
    const holderLease = holder ? this.byMac.get(holder) : undefined;
    return (!holderLease || holderLease.expires <= now) && (this.declined.get(ip) ?? 0) <= now;
  }

  owns(mac: string, ip: string): boolean {
    return this.byMac.get(mac)?.ip === ip;
  }

  /** Records the lease durably; resolves once it is on disk. */
  commit(mac: string, ip: string): Promise<void> {
    const holder = this.byIp.get(ip);
    if (holder && holder !== mac) this.drop(holder);
    const expires = this.now() + this.config.leaseSeconds * 1000;
    this.set(mac, ip, expires);
    return this.write(`lease ${mac} ${ip} ${expires}\n`);
  }

  release(mac: string): Promise<void> {
    if (!this.byMac.has(mac)) return Promise.resolve();
    this.drop(mac);
    return this.write(`release ${mac}\n`);
  }

  decline(mac: string, ip: string): Promise<void> {
    this.declined.set(ip, this.now() + this.config.leaseSeconds * 1000);
    this.exhaustedAt = null;
    return this.owns(mac, ip) ? this.release(mac) : Promise.resolve();
  }

  private write(line: string): Promise<void> {
    if (this.fd === null) return Promise.resolve();
    return new Promise((done, fail) => {
      this.pending.push({ line, done, fail });
      // setImmediate: records from every packet read in this event-loop turn share the batch.
      if (!this.scheduled && !this.syncing) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Starts one group commit of everything queued; chains the next when it completes. */
  private flush(): void {
    this.scheduled = false;
    if (this.syncing || this.pending.length === 0 || this.fd === null) return;
    const batch = this.pending;
    this.pending = [];
    const fd = this.fd;
    let settle: () => void = () => {};
    this.syncing = new Promise<void>((r) => (settle = r));
    let covers = this.syncedBytes;
    const finish = (e: Error | null): void => {
      if (!e) this.syncedBytes = covers;
      for (const b of batch) e ? b.fail(e) : b.done();
      this.syncing = null;
      settle();
      if (this.pending.length > 0 && this.fd !== null) this.flush();
    };
    try {
      this.writtenBytes += writeAll(fd, batch.map((b) => b.line).join(''));
    } catch (e) {
      finish(e as Error);
      return;
    }
    covers = this.writtenBytes;
    this.syncs++;
    fdatasync(fd, (e) => finish(e));
  }

  /** close(): the last records, synchronously (no sync is in flight then). */
  private flushSync(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0 || this.fd === null) return;
    try {
      this.writtenBytes += writeAll(this.fd, batch.map((b) => b.line).join(''));
      this.syncs++;
      fdatasyncSync(this.fd);
      this.syncedBytes = this.writtenBytes;
      for (const b of batch) b.done();
    } catch (e) {
      for (const b of batch) b.fail(e as Error);
    }
  }

  get size(): number {
    return this.byMac.size;
  }
}
