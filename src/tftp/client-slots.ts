// Concurrent transfers per client address (issue #14 item 3: 1,030 RRQs from one address held
// every transfer slot, and the server answered "busy" to everyone). The address is the request's
// source address: a PXE client uses one address for all its transfers, and a node booting runs
// one transfer at a time (a few when a failed attempt is still timing out).
//
// Contract: count(a) is the number of keys add(a) was called for and remove(a) not yet; full(a)
// is true once that reaches perClient. The server adds when it reserves a transfer's key and
// removes when the key is released, whatever ended it.
export class ClientSlots {
  private readonly counts = new Map<string, number>();

  constructor(readonly perClient: number) {}

  count(address: string): number {
    return this.counts.get(address) ?? 0;
  }

  full(address: string): boolean {
    return this.count(address) >= this.perClient;
  }

  add(address: string): void {
    this.counts.set(address, this.count(address) + 1);
  }

  remove(address: string): void {
    const n = this.count(address) - 1;
    if (n > 0) this.counts.set(address, n);
    else this.counts.delete(address);
  }

  /** Addresses holding at least one transfer. */
  get clients(): number {
    return this.counts.size;
  }
}
