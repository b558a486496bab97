// The pool's append-only lease journal with group commit. A record is durable before it is
// announced: append() copies the record into one reusable buffer and returns the promise of the
// batch it joined; the batch is written with one write and one fdatasync (in libuv's thread pool,
// so the event loop keeps receiving). While that fdatasync runs, new records queue up; when it
// completes, its batch's promise resolves and everything queued goes out as the next batch. The
// promise resolves only after an fdatasync that started after its record was written — an ACK,
// sent on resolution, always describes a lease that survives a restart and a kill -9. Adaptive:
// no fixed window, a batch is whatever arrived while the previous sync ran.
// No per-record object lives until the sync: one buffer, one promise per batch (issue #23: fewer
// objects for the garbage collector while a batch waits).
import { closeSync, existsSync, fdatasync, fdatasyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

/** Writes buf[0, len) (a short write is continued, not lost). */
function writeAll(fd: number, buf: Buffer, len: number): void {
  let off = 0;
  while (off < len) {
    const n = writeSync(fd, buf, off, len - off);
    if (n <= 0) throw new Error(`lease journal: write returned ${n}`);
    off += n;
  }
}

interface Batch {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
}

function newBatch(): Batch {
  let resolve: () => void = () => {};
  let reject: (e: Error) => void = () => {};
  const promise = new Promise<void>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

export class LeaseJournal {
  private fd: number | null = null;
  /** Records queued since the last batch went out: buf[0, queued). */
  private buf = Buffer.allocUnsafe(64 * 1024);
  private queued = 0;
  private batch: Batch | null = null;
  private scheduled = false;
  /** The fdatasync in flight, if any; the next batch starts when it settles. */
  private syncing: Promise<void> | null = null;
  /** fdatasync calls since open (observability; tests check the grouping). */
  syncs = 0;
  /** Journal length in bytes: everything written so far (observability). */
  writtenBytes = 0;
  /**
   * Journal bytes known durable: the length the journal had when the last completed fdatasync
   * began (set in its callback, never before). Every record whose promise has resolved ends at or
   * below it — the invariant tests check at each ACK.
   */
  syncedBytes = 0;
  private readonly flushNow = (): void => this.flush();

  constructor(readonly path: string) {}

  /**
   * The complete records (lines) of the journal on disk, oldest first. A kill -9 during a write
   * can leave a torn last line (never acknowledged: the sync had not begun), which is left out.
   */
  records(): string[] {
    if (!existsSync(this.path)) return [];
    const lines = readFileSync(this.path, 'latin1').split('\n');
    lines.pop(); // the text after the last newline: empty, or a torn record
    return lines;
  }

  /** Replaces the journal with `text` (compaction: written, synced, renamed over) and opens it for appending. */
  rewrite(text: string): void {
    const tmp = `${this.path}.tmp`;
    const t = openSync(tmp, 'w', 0o600);
    const b = Buffer.from(text, 'latin1');
    writeAll(t, b, b.length);
    fdatasyncSync(t);
    closeSync(t);
    renameSync(tmp, this.path);
    this.fd = openSync(this.path, 'a', 0o600);
    this.writtenBytes = this.syncedBytes = b.length;
  }

  /** Queues one record (an ASCII line ending in "\n"); resolves once an fdatasync covering it completed. */
  append(line: string): Promise<void> {
    if (this.fd === null) return Promise.resolve();
    if (this.queued + line.length > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.queued + line.length));
      this.buf.copy(bigger, 0, 0, this.queued);
      this.buf = bigger;
    }
    this.queued += this.buf.write(line, this.queued, 'latin1');
    this.batch ??= newBatch();
    // setImmediate: records from every packet read in this event-loop turn share the batch.
    if (!this.scheduled && !this.syncing) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
    return this.batch.promise;
  }

  /** Starts one group commit of everything queued; chains the next when it completes. */
  private flush(): void {
    this.scheduled = false;
    if (this.syncing || this.queued === 0 || this.fd === null || this.batch === null) return;
    const batch = this.batch;
    this.batch = null;
    const len = this.queued;
    this.queued = 0;
    const fd = this.fd;
    let settle: () => void = () => {};
    this.syncing = new Promise<void>((r) => (settle = r));
    const finish = (e: Error | null, covers: number): void => {
      if (!e) this.syncedBytes = covers;
      e ? batch.reject(e) : batch.resolve();
      this.syncing = null;
      settle();
      if (this.queued > 0 && this.fd !== null) this.flush();
    };
    try {
      writeAll(fd, this.buf, len);
    } catch (e) {
      finish(e as Error, this.syncedBytes);
      return;
    }
    this.writtenBytes += len;
    const covers = this.writtenBytes;
    this.syncs++;
    fdatasync(fd, (e) => finish(e, covers));
  }

  /** Waits for the sync in flight, writes and syncs what is still queued, closes the journal. */
  async close(): Promise<void> {
    while (this.syncing) await this.syncing;
    const batch = this.batch;
    this.batch = null;
    if (batch && this.fd !== null && this.queued > 0) {
      try {
        writeAll(this.fd, this.buf, this.queued);
        this.writtenBytes += this.queued;
        this.syncs++;
        fdatasyncSync(this.fd);
        this.syncedBytes = this.writtenBytes;
        batch.resolve();
      } catch (e) {
        batch.reject(e as Error);
      }
    } else batch?.reject(new Error('lease journal: closed before its records were written'));
    this.queued = 0;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
