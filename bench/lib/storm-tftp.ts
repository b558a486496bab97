// The TFTP side of bench:attack's virtual nodes: one RFC 1350 read as iPXE's first stage is
// fetched by a PXE ROM — RRQ with `blksize 1432` and `tsize 0` (RFC 2348/2349), lockstep ACKs,
// from the node's own address (its socket is bound to it), bodies counted and not kept.
// Retransmission: the last packet (RRQ or ACK) is sent again after 1, 2, 4, 8, 8 s of silence;
// after that the transfer fails (a ROM gives up about as soon).
import { createSocket } from 'node:dgram';
import { createHash } from 'node:crypto';
import { decodeTftp, encodeTftp, type TftpPacket } from '../../src/tftp/packet.js';

export const TFTP_TIMEOUTS_MS = [1000, 2000, 4000, 8000, 8000] as const;

export interface TftpRead {
  server: string;
  port: number;
  localAddress: string;
  file: string;
  blksize: number;
  signal: AbortSignal;
  timeoutsMs?: readonly number[];
}

export interface TftpResult {
  bytes: number;
  sha256: string;
  retransmits: number;
}

/** ACK packets by block number, shared by every transfer (they never change). */
const ACKS: Buffer[] = [];
function ackOf(block: number): Buffer {
  return (ACKS[block] ??= encodeTftp({ op: 'ACK', block }));
}

/**
 * The hot path is one DATA per round trip, ~600 per node and 120,000 per storm of 200 nodes, in a
 * process that shares the machine with the server it measures: DATA is parsed in place (4-byte
 * header), ACKs are shared buffers, the socket is connected to the server's TID after its first
 * reply (no address lookup per send), and the retransmission timer is re-armed only when it fires.
 */
export function tftpGet(o: TftpRead): Promise<TftpResult> {
  const timeouts = o.timeoutsMs ?? TFTP_TIMEOUTS_MS;
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const hash = createHash('sha256');
    let bytes = 0;
    let expected = 1; // next DATA block (16-bit, wraps to 0 after 65535: rollover as iPXE does)
    let blksize = 512;
    let tsize: number | null = null;
    let tid: number | null = null;
    let connected = false;
    let last: Buffer = encodeTftp({
      op: 'RRQ',
      filename: o.file,
      mode: 'octet',
      options: new Map([
        ['blksize', String(o.blksize)],
        ['tsize', '0'],
      ]),
    });
    let silent = 0;
    let retransmits = 0;
    let lastRx = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = (e: Error | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      s.close();
      if (e) reject(e);
      else resolve({ bytes, sha256: hash.digest('hex'), retransmits });
    };
    const onAbort = (): void => finish(new Error(`tftp ${o.file}: aborted at ${bytes} bytes`));
    // Between connect() and its callback a send with an address fails (libuv: EISCONN) and one
    // without is refused (Node: not connected yet): the packet waits for the callback.
    let waiting: [Buffer, (() => void) | undefined] | null = null;
    const send = (b: Buffer, then?: () => void): void => {
      last = b;
      if (connected) s.send(b, then);
      else if (tid !== null) waiting = [b, then];
      else s.send(b, o.port, o.server, then);
    };
    const tick = (): void => {
      const wait = timeouts[Math.min(silent, timeouts.length - 1)]!;
      const idle = performance.now() - lastRx;
      if (idle < wait) {
        timer = setTimeout(tick, wait - idle);
        return;
      }
      if (silent >= timeouts.length) return finish(new Error(`tftp ${o.file}: no answer after ${silent} retransmissions at ${bytes} bytes`));
      silent++;
      retransmits++;
      lastRx = performance.now();
      send(last);
      timer = setTimeout(tick, timeouts[Math.min(silent, timeouts.length - 1)]);
    };
    const progress = (): void => {
      lastRx = performance.now();
      silent = 0;
    };
    s.on('error', (e) => finish(new Error(`tftp ${o.file}: ${e.message}`)));
    s.on('message', (buf, rinfo) => {
      if (finished || rinfo.address !== o.server) return;
      if (tid === null) {
        tid = rinfo.port;
        s.connect(tid, o.server, () => {
          connected = true;
          if (waiting && !finished) s.send(waiting[0], waiting[1]);
          waiting = null;
        });
      } else if (rinfo.port !== tid) return; // another TID: RFC 1350 says ERROR 5; iPXE ignores it
      const op = buf.length >= 4 ? buf.readUInt16BE(0) : 0;
      if (op === 3) {
        const block = buf.readUInt16BE(2);
        if (block === expected) {
          const n = buf.length - 4;
          hash.update(buf.subarray(4));
          bytes += n;
          progress();
          if (n < blksize) {
            // The last ACK must leave before the socket closes, or the server resends the
            // last block until its own timeout, holding the transfer open.
            if (tsize !== null && tsize !== bytes) return finish(new Error(`tftp ${o.file}: ${bytes} bytes, tsize said ${tsize}`));
            return send(ackOf(block), () => finish(null));
          }
          send(ackOf(block));
          expected = (expected + 1) & 0xffff;
        } else if (block === ((expected - 1) & 0xffff)) {
          // The server did not see our ACK: say it again (once per duplicate, as iPXE does).
          send(last);
        }
        return;
      }
      let p: TftpPacket;
      try {
        p = decodeTftp(buf);
      } catch {
        return;
      }
      if (p.op === 'OACK') {
        if (expected !== 1 || bytes !== 0) return;
        blksize = Number(p.options.get('blksize') ?? 512);
        const ts = p.options.get('tsize');
        if (ts !== undefined) tsize = Number(ts);
        progress();
        send(ackOf(0));
      } else if (p.op === 'ERROR') finish(new Error(`tftp ${o.file}: server error ${p.code} ${p.message}`));
    });
    o.signal.addEventListener('abort', onAbort, { once: true });
    s.bind(0, o.localAddress, () => {
      send(last);
      timer = setTimeout(tick, timeouts[0]);
    });
  });
}
