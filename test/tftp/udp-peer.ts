// Test helpers: a raw UDP peer (send a datagram, await the next one) and a lossy relay that sits
// between a real TFTP client and the server, dropping and duplicating datagrams by a fixed pattern.
import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';

export interface RawPeer {
  socket: Socket;
  port: number;
  send(buf: Buffer, port: number): Promise<void>;
  next(timeoutMs?: number): Promise<{ msg: Buffer; rinfo: RemoteInfo } | null>;
  close(): void;
}

export async function rawPeer(address = '127.0.0.1'): Promise<RawPeer> {
  const socket = createSocket('udp4');
  const queue: { msg: Buffer; rinfo: RemoteInfo }[] = [];
  let waiter: (() => void) | null = null;
  socket.on('message', (msg, rinfo) => {
    queue.push({ msg, rinfo });
    waiter?.();
  });
  await new Promise<void>((r) => socket.bind(0, address, () => r()));
  return {
    socket,
    port: socket.address().port,
    send: (buf, port) => new Promise((r, j) => socket.send(buf, port, '127.0.0.1', (e) => (e ? j(e) : r()))),
    async next(timeoutMs = 2000) {
      if (queue.length === 0) {
        await new Promise<void>((r) => {
          const t = setTimeout(() => {
            waiter = null;
            r();
          }, timeoutMs);
          waiter = () => {
            clearTimeout(t);
            waiter = null;
            r();
          };
        });
      }
      return queue.shift() ?? null;
    },
    close: () => socket.close(),
  };
}

export interface RelayStats {
  toServer: number;
  toClient: number;
  dropped: number;
  duplicated: number;
  /** DATA packets the server sent, by opcode 3 (counted before any drop). */
  dataFromServer: number;
}

/**
 * A UDP relay for one client at a time: the client talks to `port`; the relay forwards to the
 * server's listening port first, then to whatever port the server answered from (its TID).
 * `fate(direction, n)` decides per datagram: 'pass', 'drop' or 'dup'.
 */
export async function lossyRelay(serverPort: number, fate: (dir: 'up' | 'down', n: number, msg: Buffer) => 'pass' | 'drop' | 'dup') {
  const front = createSocket('udp4');
  const back = createSocket('udp4');
  const stats: RelayStats = { toServer: 0, toClient: 0, dropped: 0, duplicated: 0, dataFromServer: 0 };
  let client: { port: number } | null = null;
  let serverTid = serverPort;
  let up = 0;
  let down = 0;
  const forward = (s: Socket, msg: Buffer, port: number, f: 'pass' | 'drop' | 'dup') => {
    if (f === 'drop') {
      stats.dropped++;
      return;
    }
    s.send(msg, port, '127.0.0.1');
    if (f === 'dup') {
      stats.duplicated++;
      s.send(msg, port, '127.0.0.1');
    }
  };
  front.on('message', (msg, r) => {
    if (!client || msg.readUInt16BE(0) === 1) {
      client = { port: r.port };
      serverTid = serverPort;
    }
    stats.toServer++;
    forward(back, msg, serverTid, fate('up', up++, msg));
  });
  back.on('message', (msg, r) => {
    serverTid = r.port;
    if (!client) return;
    stats.toClient++;
    if (msg.length >= 2 && msg.readUInt16BE(0) === 3) stats.dataFromServer++;
    forward(front, msg, client.port, fate('down', down++, msg));
  });
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => back.bind(0, '127.0.0.1', () => r()));
  return {
    port: front.address().port,
    stats,
    close() {
      front.close();
      back.close();
    },
  };
}
