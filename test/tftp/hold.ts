// Test helper: a client that asks for a transfer and then holds it — it acknowledges the OACK
// (block 0, RFC 2347) and nothing after, the way issue #14 items 2 and 3 hold memory and slots.
// DATA is counted and dropped (never queued, so the test's own memory stays flat).
import { createSocket, type Socket } from 'node:dgram';
import { decodeTftp, encodeTftp, type TftpPacket } from '../../src/tftp/index.js';

type ErrorPacket = Extract<TftpPacket, { op: 'ERROR' }>;

export interface Hold {
  /** The server's first answer: OACK, DATA (no option accepted) or ERROR; null when none came. */
  first: TftpPacket | null;
  /** The port the first answer came from (the transfer's TID, or the listening port). */
  from: number;
  /** OACK options as numbers (empty unless the first answer was an OACK). */
  oack: Map<string, number>;
  /** blksize × windowsize of the OACK (RFC 1350 defaults for options left out). */
  windowBytes: number;
  dataBytes: number;
  /** Resolves with the ERROR that ends the held transfer (e.g. "timed out"). */
  ended: Promise<ErrorPacket>;
  /** Ends the transfer from the client side (ERROR 0 to its TID) and closes the socket. */
  abort(): void;
  close(): void;
}

export async function hold(serverPort: number, file: string, options: [string, string][], source = '127.0.0.1', waitMs = 2000): Promise<Hold> {
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, source, () => r()));
  let onFirst: ((p: TftpPacket | null, port: number) => void) | null = null;
  let onEnd: (e: ErrorPacket) => void = () => {};
  const h: Hold = {
    first: null,
    from: 0,
    oack: new Map(),
    windowBytes: 0,
    dataBytes: 0,
    ended: new Promise<ErrorPacket>((r) => (onEnd = r)),
    abort() {
      if (h.first?.op === 'OACK' || h.first?.op === 'DATA')
        socket.send(encodeTftp({ op: 'ERROR', code: 0, message: 'test done' }), h.from, '127.0.0.1', () => h.close());
      else h.close();
    },
    close() {
      try {
        socket.close();
      } catch {
        // already closed
      }
    },
  };
  socket.on('message', (msg, rinfo) => {
    let p: TftpPacket;
    try {
      p = decodeTftp(msg);
    } catch {
      return;
    }
    if (p.op === 'DATA') h.dataBytes += p.data.length;
    if (onFirst) {
      const f = onFirst;
      onFirst = null;
      f(p, rinfo.port);
      return;
    }
    if (p.op === 'ERROR') onEnd(p);
  });
  const first = new Promise<{ p: TftpPacket | null; port: number }>((resolve) => {
    const t = setTimeout(() => {
      onFirst = null;
      resolve({ p: null, port: 0 });
    }, waitMs);
    onFirst = (p, port) => {
      clearTimeout(t);
      resolve({ p, port });
    };
  });
  socket.send(encodeTftp({ op: 'RRQ', filename: file, mode: 'octet', options: new Map(options) }), serverPort, '127.0.0.1');
  const { p, port } = await first;
  h.first = p;
  h.from = port;
  if (p?.op === 'OACK') {
    for (const [k, v] of p.options) h.oack.set(k, Number(v));
    h.windowBytes = (h.oack.get('blksize') ?? 512) * (h.oack.get('windowsize') ?? 1);
    socket.send(encodeTftp({ op: 'ACK', block: 0 }), port, '127.0.0.1');
  } else if (p?.op === 'DATA') h.windowBytes = 512;
  else if (p?.op === 'ERROR') onEnd(p);
  return h;
}
