// The read-only TFTP server. The listening socket only takes requests; every transfer runs on
// its own ephemeral socket (its TID, RFC 1350 section 4), so many transfers run at once and a
// stray packet for one never disturbs another. WRQ is refused with error 2. A bad packet is
// counted in `metrics` and answered or dropped; the server never throws on input.
//
// Availability limits (issue #14 items 2 and 3), each answered with ERROR 0 "server busy" from the
// listening port or the transfer's TID, so other clients keep being served:
//   - maxTransfers at once, and maxTransfersPerClient per source address (client-slots.ts);
//   - maxWindowBytes per transfer (blksize × windowsize answered smaller, options.ts) and
//     maxBufferedBytes over all transfers (budget.ts: windows get smaller as it fills, then busy);
//   - client `timeout` options above maxTimeoutS are ignored (RFC 2349), so a transfer nobody
//     acknowledges ends after at most max(timeoutMs, maxTimeoutS s) × (maxRetries + 1).
import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { selectLink, DEFAULT_SEND_BUFFER, type LinkChoice, type LinkKind, type LinkSelection, type TransferLink } from './link.js';
import { decodeTftp, encodeTftp, TftpError, type TftpPacket, type RequestPacket } from './packet.js';
import { negotiate } from './options.js';
import { Transfer } from './transfer.js';
import { refusal, type TftpClient, type TftpFile, type TftpResolver } from './source.js';
import { newTftpMetrics } from './metrics.js';
import { BufferBudget, plan, windowCap } from './budget.js';
import { ClientSlots } from './client-slots.js';
import { DecodeError, NetrootError } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';

export interface TftpServerOptions {
  host: string;
  port: number;
  resolver: TftpResolver;
  logger?: Logger;
  /** Upper bound for a negotiated blksize (RFC 2348 allows the server to answer smaller). */
  maxBlksize?: number;
  /** Upper bound for a negotiated windowsize (RFC 7440 allows the server to answer smaller). */
  maxWindowsize?: number;
  /**
   * Upper bound for blksize × windowsize of one transfer, in bytes (default 256 KiB: blksize 1468
   * with windowsize 64 fits; blksize 65464 gets windowsize 4). Bigger requests are answered with a
   * smaller windowsize, then blksize (RFC 7440, RFC 2348).
   */
  maxWindowBytes?: number;
  /**
   * Bytes all transfers together may hold in windows and read-ahead (budget.ts; default 64 MiB).
   * As it fills, new transfers get smaller windows; when not even a lean one fits, "busy".
   */
  maxBufferedBytes?: number;
  /** Retransmission timeout when the client sends no `timeout` option. */
  timeoutMs?: number;
  /**
   * Client `timeout` options above this many seconds are ignored (RFC 2349 allows only echo or
   * ignore); default 5. 0 ignores every client timeout.
   */
  maxTimeoutS?: number;
  /** Timeouts in a row before a transfer is abandoned. */
  maxRetries?: number;
  /** Transfers at once (default 1024). */
  maxTransfers?: number;
  /** Transfers at once from one source address (default 16). */
  maxTransfersPerClient?: number;
  /** SO_SNDBUF of each transfer socket (default 4 MiB, capped by net.core.wmem_max; 0: the kernel's default). */
  sendBufferBytes?: number;
  /**
   * The transfer link (link.ts): 'auto' (default) takes the native one and falls back to node:dgram
   * when native/tftpio cannot be loaded, with one warning naming why; 'native' refuses to start
   * without it; 'dgram' always takes node:dgram.
   */
  link?: LinkChoice;
  /** Where native/tftpio is loaded from (default: the package's build; tests point it at a missing file). */
  nativeAddon?: string;
  /**
   * The machine behind a client address (host name and MAC), for the end-of-transfer log line;
   * asked once per transfer, after it ends. Null, a rejection or no callback: logged as null.
   */
  identify?: (address: string) => Promise<ClientIdentity | null>;
}

/** Who a TFTP client is, as the database knows it. */
export interface ClientIdentity {
  host: string;
  mac: string | null;
}

/** What the listening socket does with one datagram (pure; exported for tests and the fuzzer). */
export type RequestAction =
  | { kind: 'read'; packet: RequestPacket }
  | { kind: 'error'; code: number; message: string; counter: 'malformed' | 'wrqRefused' }
  | { kind: 'drop' };

export function classifyRequest(msg: Buffer): RequestAction {
  let p: TftpPacket;
  try {
    p = decodeTftp(msg);
  } catch (e) {
    const op = msg.length >= 2 ? msg.readUInt16BE(0) : -1;
    // Only a broken request is answered (error 4, RFC 1350); other garbage is dropped so the server
    // cannot be used to reflect traffic.
    if (op === 1 || op === 2) {
      const where = e instanceof DecodeError ? `${e.field} at byte ${e.offset}` : 'request';
      const what = e instanceof DecodeError && e.code === 'E_TFTP_MODE' ? 'unknown transfer mode' : 'malformed request';
      return { kind: 'error', code: TftpError.ILLEGAL_OPERATION, message: `${what} (${where})`, counter: 'malformed' };
    }
    return { kind: 'drop' };
  }
  if (p.op === 'WRQ')
    return { kind: 'error', code: TftpError.ACCESS_VIOLATION, message: 'read-only server: write requests are refused', counter: 'wrqRefused' };
  if (p.op !== 'RRQ') return { kind: 'drop' };
  if (p.mode === 'mail') return { kind: 'error', code: TftpError.ILLEGAL_OPERATION, message: 'mail mode is not a read mode', counter: 'malformed' };
  return { kind: 'read', packet: p };
}

export class TftpServer {
  readonly metrics = newTftpMetrics();
  /** Active transfers by client "address:port" (exposed for tests). */
  readonly transfers = new Map<string, Transfer>();
  /** The bytes running transfers hold (budget.ts); metrics.bufferedBytes mirrors it. */
  readonly budget: BufferBudget;
  private readonly slots: ClientSlots;
  private socket: Socket | undefined;
  private links: LinkSelection | undefined;
  private readonly logger: Logger;
  private readonly o: Required<Omit<TftpServerOptions, 'logger' | 'identify' | 'nativeAddon'>> & Pick<TftpServerOptions, 'identify' | 'nativeAddon'>;

  constructor(opts: TftpServerOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.o = {
      host: opts.host,
      port: opts.port,
      resolver: opts.resolver,
      maxBlksize: opts.maxBlksize ?? 65464,
      maxWindowsize: opts.maxWindowsize ?? 64,
      maxWindowBytes: opts.maxWindowBytes ?? 256 * 1024,
      maxBufferedBytes: opts.maxBufferedBytes ?? 64 * 1024 * 1024,
      timeoutMs: opts.timeoutMs ?? 1000,
      maxRetries: opts.maxRetries ?? 5,
      maxTimeoutS: opts.maxTimeoutS ?? 5,
      maxTransfers: opts.maxTransfers ?? 1024,
      maxTransfersPerClient: opts.maxTransfersPerClient ?? 16,
      sendBufferBytes: opts.sendBufferBytes ?? DEFAULT_SEND_BUFFER,
      link: opts.link ?? 'auto',
      nativeAddon: opts.nativeAddon,
      identify: opts.identify,
    };
    this.budget = new BufferBudget(this.o.maxBufferedBytes);
    this.slots = new ClientSlots(this.o.maxTransfersPerClient);
  }

  /** Transfers (running or being set up) from `address`. */
  transfersFrom(address: string): number {
    return this.slots.count(address);
  }

  /** Reserves `key` for `entry`; a new key takes one of its address's slots. */
  private claim(key: string, address: string, entry: Transfer): void {
    if (!this.transfers.has(key)) this.slots.add(address);
    this.transfers.set(key, entry);
  }

  /** Releases `key` if `entry` still holds it, and its address's slot. */
  private release(key: string, address: string, entry: Transfer): void {
    if (this.transfers.get(key) !== entry) return;
    this.transfers.delete(key);
    this.slots.remove(address);
    this.metrics.active = this.transfers.size; // a placeholder released after a transfer ended left it stale
  }

  async start(): Promise<void> {
    const links = selectLink(this.o.link, this.o.nativeAddon);
    if (links.fallback) this.logger.warn('tftp: the native transfer link is not available, transfers use node:dgram (slower)', { reason: links.fallback });
    const s = createSocket({ type: 'udp4' });
    s.on('message', (m, r) => this.handleRequest(m, r));
    s.on('error', (e) => this.logger.warn('tftp socket error', { error: e.message }));
    await new Promise<void>((resolve, reject) => {
      s.once('error', (e: NodeJS.ErrnoException) => {
        const hint = e.code === 'EACCES' ? ' (ports below 1024 need root; set tftp.port)' : e.code === 'EADDRINUSE' ? ' (something else listens there)' : '';
        reject(new NetrootError('E_LISTEN', `tftp: cannot listen on ${this.o.host}:${this.o.port}: ${e.code ?? e.message}${hint}`));
      });
      s.bind({ address: this.o.host, port: this.o.port }, () => resolve());
    });
    this.socket = s;
    this.links = links;
    this.logger.info('tftp listening', { host: this.o.host, port: this.port(), link: links.kind });
  }

  /** Which transfer link runs (known from start()). */
  get linkKind(): LinkKind | undefined {
    return this.links?.kind;
  }

  port(): number {
    return this.socket?.address().port ?? this.o.port;
  }

  /** Whether the listening socket is open (between start() and stop()). */
  get listening(): boolean {
    return this.socket !== undefined;
  }

  async stop(): Promise<void> {
    for (const [key, t] of [...this.transfers]) {
      t.end(false);
      this.release(key, key.slice(0, key.lastIndexOf(':')), t); // a placeholder's end() does not release
    }
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** An answer from the listening port (to a request that starts no transfer). */
  private sendError(to: TftpClient, code: number, message: string): void {
    const via = this.socket;
    if (!via) return;
    this.metrics.errorsSent++;
    try {
      via.send(encodeTftp({ op: 'ERROR', code, message }), to.port, to.address);
    } catch {
      // socket closing: nothing to answer with
    }
  }

  /** One datagram on the listening port. Never throws. */
  handleRequest(msg: Buffer, rinfo: RemoteInfo | TftpClient): void {
    this.metrics.received++;
    const client: TftpClient = { address: rinfo.address, port: rinfo.port };
    const a = classifyRequest(msg);
    if (a.kind === 'drop') {
      this.metrics.ignored++;
      return;
    }
    if (a.kind === 'error') {
      this.metrics[a.counter]++;
      this.sendError(client, a.code, a.message);
      return;
    }
    this.metrics.rrq++;
    const key = `${client.address}:${client.port}`;
    const old = this.transfers.get(key);
    // A repeated RRQ before the first ACK is the client retransmitting its request: the running
    // transfer's own timer answers it. A later RRQ from the same port is a new request.
    if (old?.starting) return;
    if (old) old.end(false);
    if (this.transfers.size >= this.o.maxTransfers) {
      this.metrics.busy++;
      this.sendError(client, TftpError.NOT_DEFINED, 'server busy, try again');
      return;
    }
    if (this.slots.full(client.address)) {
      this.metrics.busy++;
      this.metrics.busyPerClient++;
      this.sendError(client, TftpError.NOT_DEFINED, 'server busy, try again');
      return;
    }
    void this.begin(client, key, a.packet);
  }

  /** `{ host, mac }` of a client address for a log line; never rejects. */
  private async identity(address: string): Promise<{ host: string | null; mac: string | null }> {
    try {
      const who = this.o.identify ? await this.o.identify(address) : null;
      return { host: who?.host ?? null, mac: who?.mac ?? null };
    } catch {
      return { host: null, mac: null };
    }
  }

  private async begin(client: TftpClient, key: string, req: RequestPacket): Promise<void> {
    const links = this.links;
    if (!this.socket || !links) return;
    // Reserve the key while the link opens and the file resolves, so a retransmitted RRQ does not
    // start a second transfer.
    let link: TransferLink | undefined;
    let ended = false;
    const placeholder = {
      starting: true,
      end: () => {
        ended = true;
        link?.close();
      },
    } as unknown as Transfer;
    this.claim(key, client.address, placeholder);
    try {
      link = await links.open(this.socket.address().address, client, this.o.sendBufferBytes);
    } catch (e) {
      this.release(key, client.address, placeholder);
      this.metrics.errors++;
      this.logger.warn('tftp transfer setup failed', { client: client.address, error: e instanceof Error ? e.message : String(e) });
      return;
    }
    if (ended) {
      link.close();
      return;
    }
    let file: TftpFile | null;
    try {
      file = await this.o.resolver(req.filename, client);
    } catch (e) {
      const kind = refusal(e);
      if (kind === 'internal') {
        this.metrics.errors++;
        this.logger.warn('tftp resolver failed', { client: client.address, error: e instanceof Error ? e.message : String(e) });
      }
      if (kind === 'refused') {
        this.metrics.refused++;
        this.finishEarly(key, client, placeholder, link, TftpError.ACCESS_VIOLATION, 'access violation');
      } else if (kind === 'not-found') {
        this.metrics.notFound++;
        this.finishEarly(key, client, placeholder, link, TftpError.FILE_NOT_FOUND, 'file not found');
      } else this.finishEarly(key, client, placeholder, link, TftpError.NOT_DEFINED, 'internal error');
      return;
    }
    if (!file) {
      this.metrics.notFound++;
      this.finishEarly(key, client, placeholder, link, TftpError.FILE_NOT_FOUND, 'file not found');
      return;
    }
    if (this.transfers.get(key) !== placeholder || !this.socket) {
      // stopped or superseded while resolving
      this.release(key, client.address, placeholder);
      void file.close?.().catch(() => {});
      link.close();
      return;
    }
    const inMemory = file.bytes !== undefined && file.bytes.length === file.size;
    const maxWindowBytes = windowCap(file.size, inMemory, this.budget.free, this.o.maxWindowBytes);
    const n = negotiate(req.options, file.size, {
      maxBlksize: this.o.maxBlksize,
      maxWindowsize: this.o.maxWindowsize,
      defaultTimeoutMs: this.o.timeoutMs,
      maxTimeoutS: this.o.maxTimeoutS,
      maxWindowBytes,
    });
    if (Math.floor(file.size / n.blksize) + 1 > 0xffffffff) {
      // Block numbers are counted in 32 bits (the wire's 16 bits roll over); a file that needs
      // more blocks (over 32 GiB at blksize 8) is refused rather than sent wrong.
      void file.close?.().catch(() => {});
      this.finishEarly(key, client, placeholder, link, TftpError.NOT_DEFINED, `file too large for blksize ${n.blksize}`);
      return;
    }
    const charge = plan(file.size, inMemory, n.blksize * n.windowsize, this.budget.free);
    if (!charge || !this.budget.take(charge.bytes)) {
      void file.close?.().catch(() => {});
      this.metrics.busy++;
      this.metrics.busyMemory++;
      this.finishEarly(key, client, placeholder, link, TftpError.NOT_DEFINED, 'server busy, try again');
      return;
    }
    this.metrics.bufferedBytes = this.budget.held;
    this.metrics.bufferedBytesPeak = this.budget.peak;
    if (n.narrowed) this.metrics.narrowed++;
    const size = file.size;
    const started = Date.now();
    const params = {
      blksize: n.blksize,
      windowsize: n.windowsize,
      timeoutMs: n.timeoutMs,
      maxRetries: this.o.maxRetries,
      oack: n.oack.size > 0 ? n.oack : null,
      readChunk: charge.readChunk || undefined,
    };
    const t = new Transfer(link, client, file, params, this.metrics, this.logger, (x, completed) => {
      this.release(key, client.address, x);
      this.budget.give(charge.bytes);
      this.metrics.bufferedBytes = this.budget.held;
      this.metrics.active = this.transfers.size;
      const ms = Date.now() - started;
      void this.identity(client.address).then((who) => {
        if (completed)
          this.logger.info('tftp sent', { ...who, client: client.address, file: req.filename, bytes: size, ms, blksize: n.blksize, windowsize: n.windowsize });
        else this.logger.info('tftp transfer ended early', { ...who, client: client.address, file: req.filename });
      });
    });
    this.transfers.set(key, t); // same key as the placeholder: its slot carries over
    this.metrics.transfers++;
    this.metrics.active = this.transfers.size;
    this.logger.debug('tftp transfer', { client: client.address, file: req.filename, size: file.size, blksize: n.blksize, windowsize: n.windowsize });
    t.start();
  }

  /** An error from the transfer's own TID, then the link is closed (the datagram is already in the kernel). */
  private finishEarly(key: string, client: TftpClient, placeholder: Transfer, link: TransferLink, code: number, message: string): void {
    this.release(key, client.address, placeholder);
    this.metrics.errorsSent++;
    link.send(encodeTftp({ op: 'ERROR', code, message }));
    link.close();
  }
}
