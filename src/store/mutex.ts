// One holder at a time, FIFO: the SQLite store serialises its callers with it (one connection), the
// PostgreSQL store the calls of one transaction (one pooled connection, statements in order).

export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
