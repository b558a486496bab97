// The pool's leases in typed arrays: no JavaScript object, string or Map entry per lease, so a
// table of hundreds of thousands of leases adds nothing for V8's garbage collector to mark, copy or
// compact (issue #23: the per-lease objects of a growing table made the major GC pauses that
// delayed ACKs by 16–50 ms at a few thousand DORAs/s). Two structures:
// - per address (offset from the pool's first address): the holder's MAC as a 48-bit number
//   (-1: none) and the lease's expiry (epoch ms), in pages of PAGE addresses allocated on first
//   use — memory follows the addresses handed out, not the pool's size (a /8 pool costs nothing
//   until used);
// - MAC → offset: an open-addressing hash table (linear probing, backward-shift deletion, load
//   ≤ 1/2, doubled when full), keys and values in typed arrays.
// Pure data structure: no clock, no I/O; the allocation policy is LeasePool's (leases.ts).

const PAGE_BITS = 12;
const PAGE = 1 << PAGE_BITS;
const NONE = -1;

/** "aa:bb:cc:dd:ee:ff" (either case) → the 48-bit number; -1 when it is not exactly that form. */
export function macToNumber(mac: string): number {
  if (mac.length !== 17) return NONE;
  let n = 0;
  for (let i = 0; i < 17; i++) {
    const c = mac.charCodeAt(i);
    if (i % 3 === 2) {
      if (c !== 58) return NONE; // ':'
      continue;
    }
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) return NONE;
    n = n * 16 + d;
  }
  return n;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The inverse of macToNumber: lower-case, colon-separated. */
export function numberToMac(n: number): string {
  const hi = Math.floor(n / 0x1000000);
  const lo = n % 0x1000000;
  return `${HEX[(hi >>> 16) & 255]}:${HEX[(hi >>> 8) & 255]}:${HEX[hi & 255]}:${HEX[(lo >>> 16) & 255]}:${HEX[(lo >>> 8) & 255]}:${HEX[lo & 255]}`;
}

export class LeaseTable {
  /** Per page: PAGE holder MACs, then PAGE expiries. */
  private readonly pages: Array<Float64Array | undefined>;
  private keys: Float64Array;
  private vals: Float64Array;
  private mask: number;
  /** Leases held (live or expired, until released or replaced). */
  count = 0;

  /** `addresses`: the pool's size; offsets run 0 … addresses - 1. */
  constructor(readonly addresses: number) {
    if (!Number.isInteger(addresses) || addresses < 1) throw new RangeError(`lease table of ${addresses} addresses`);
    this.pages = new Array(Math.ceil(addresses / PAGE));
    // Sized for the whole pool up to 64 Ki slots (1 MiB): a pool of up to 32 Ki addresses never
    // rehashes (a rehash is a pause, however short); larger ones double from there.
    let cap = 1024;
    while (cap < 2 * addresses && cap < 65536) cap *= 2;
    this.keys = new Float64Array(cap).fill(NONE);
    this.vals = new Float64Array(cap);
    this.mask = cap - 1;
  }

  /** The offset `mac` holds a lease on, or -1. */
  offsetOf(mac: number): number {
    const i = this.find(mac);
    return i < 0 ? NONE : this.vals[i]!;
  }

  /** The MAC holding a lease on `off`, or -1. */
  holderAt(off: number): number {
    const p = this.pages[off >>> PAGE_BITS];
    return p === undefined ? NONE : p[off & (PAGE - 1)]!;
  }

  /** The expiry (epoch ms) of the lease on `off`; 0 when none is held. */
  expiresAt(off: number): number {
    const p = this.pages[off >>> PAGE_BITS];
    return p === undefined || p[off & (PAGE - 1)] === NONE ? 0 : p[PAGE + (off & (PAGE - 1))]!;
  }

  /** Gives `off` to `mac` until `expires`: mac's previous lease and off's previous holder, if any, are dropped. */
  put(mac: number, off: number, expires: number): void {
    if (!(mac >= 0 && mac < 2 ** 48) || !Number.isInteger(mac)) throw new RangeError(`MAC number ${mac}`);
    if (!(off >= 0 && off < this.addresses) || !Number.isInteger(off)) throw new RangeError(`offset ${off} outside the pool`);
    const holder = this.holderAt(off);
    if (holder !== NONE && holder !== mac) this.remove(holder);
    const prev = this.offsetOf(mac);
    if (prev !== NONE && prev !== off) this.clearSlot(prev);
    let p = this.pages[off >>> PAGE_BITS];
    if (p === undefined) {
      p = new Float64Array(2 * PAGE);
      p.fill(NONE, 0, PAGE);
      this.pages[off >>> PAGE_BITS] = p;
    }
    p[off & (PAGE - 1)] = mac;
    p[PAGE + (off & (PAGE - 1))] = expires;
    if (prev === NONE) this.insert(mac, off);
    else if (prev !== off) this.vals[this.find(mac)] = off;
  }

  /** Drops mac's lease; false when it held none. */
  remove(mac: number): boolean {
    const i = this.find(mac);
    if (i < 0) return false;
    this.clearSlot(this.vals[i]!);
    this.deleteAt(i);
    return true;
  }

  /** Every lease: (mac, offset, expires), in address order. */
  forEach(f: (mac: number, off: number, expires: number) => void): void {
    for (let pi = 0; pi < this.pages.length; pi++) {
      const p = this.pages[pi];
      if (p === undefined) continue;
      for (let j = 0; j < PAGE; j++) if (p[j] !== NONE) f(p[j]!, pi * PAGE + j, p[PAGE + j]!);
    }
  }

  private clearSlot(off: number): void {
    const p = this.pages[off >>> PAGE_BITS];
    if (p === undefined) return;
    p[off & (PAGE - 1)] = NONE;
    p[PAGE + (off & (PAGE - 1))] = 0;
  }

  private home(mac: number): number {
    // 48 bits as two halves, mixed (murmur3's finaliser constants).
    let h = Math.imul((mac % 0x1000000) ^ Math.imul(Math.floor(mac / 0x1000000), 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h & this.mask;
  }

  private find(mac: number): number {
    for (let i = this.home(mac); ; i = (i + 1) & this.mask) {
      const k = this.keys[i]!;
      if (k === mac) return i;
      if (k === NONE) return NONE;
    }
  }

  private insert(mac: number, off: number): void {
    if (2 * (this.count + 1) > this.keys.length) this.grow();
    let i = this.home(mac);
    while (this.keys[i] !== NONE) i = (i + 1) & this.mask;
    this.keys[i] = mac;
    this.vals[i] = off;
    this.count++;
  }

  /** Backward-shift deletion: entries after the hole move back unless that would pass their home. */
  private deleteAt(hole: number): void {
    let i = hole;
    for (let j = (i + 1) & this.mask; this.keys[j] !== NONE; j = (j + 1) & this.mask) {
      const h = this.home(this.keys[j]!);
      // j's entry may fill the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? h > i && h <= j : h > i || h <= j;
      if (stays) continue;
      this.keys[i] = this.keys[j]!;
      this.vals[i] = this.vals[j]!;
      i = j;
    }
    this.keys[i] = NONE;
    this.count--;
  }

  private grow(): void {
    const keys = this.keys;
    const vals = this.vals;
    this.keys = new Float64Array(keys.length * 2).fill(NONE);
    this.vals = new Float64Array(keys.length * 2);
    this.mask = keys.length * 2 - 1;
    this.count = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== NONE) this.insert(keys[i]!, vals[i]!);
  }
}
