// A user-space UDP relay that delays every datagram by a fixed time each way (this kernel has no
// netem). Run as its own process inside a namespace:
//   node --import tsx bench/lib/udp-delay-relay.ts LISTEN_IP:PORT SERVER_IP:PORT DELAY_US
// Each client (address:port) gets its own upstream socket; the first datagram goes to the server's
// port, later ones to the port the server answered from (its TID, RFC 1350), so TFTP works through it.
// Timers in Node have 1 ms resolution: due datagrams are released by a setImmediate loop that
// checks a monotonic clock, spinning only while something is queued.
import { createSocket, type Socket } from 'node:dgram';

const [listen, server, delayArg] = process.argv.slice(2);
if (!listen || !server || !delayArg) {
  console.error('usage: udp-delay-relay LISTEN_IP:PORT SERVER_IP:PORT DELAY_US');
  process.exit(2);
}
const [lip, lport] = listen.split(':') as [string, string];
const [sip, sport] = server.split(':') as [string, string];
const delay = BigInt(Math.round(Number(delayArg) * 1000));

interface Item {
  due: bigint;
  sock: Socket;
  msg: Buffer;
  port: number;
  addr: string;
}
const queue: Item[] = [];
let head = 0;
let spinning = false;

function pump(): void {
  const now = process.hrtime.bigint();
  while (head < queue.length && queue[head]!.due <= now) {
    const it = queue[head++]!;
    it.sock.send(it.msg, it.port, it.addr);
  }
  if (head > 4096) {
    queue.splice(0, head);
    head = 0;
  }
  if (head < queue.length) setImmediate(pump);
  else spinning = false;
}

function later(sock: Socket, msg: Buffer, port: number, addr: string): void {
  queue.push({ due: process.hrtime.bigint() + delay, sock, msg, port, addr });
  if (!spinning) {
    spinning = true;
    setImmediate(pump);
  }
}

const front = createSocket('udp4');
const clients = new Map<string, { up: Socket; tid: number }>();
front.on('message', (msg, r) => {
  const key = `${r.address}:${r.port}`;
  let c = clients.get(key);
  if (!c || (msg.length >= 2 && msg.readUInt16BE(0) === 1)) {
    c?.up.close();
    const up = createSocket('udp4');
    const entry = { up, tid: Number(sport) };
    up.on('message', (m, sr) => {
      entry.tid = sr.port;
      later(front, m, r.port, r.address);
    });
    up.bind(0, '0.0.0.0');
    clients.set(key, entry);
    c = entry;
  }
  later(c.up, msg, c.tid, sip);
});
front.bind(Number(lport), lip, () => console.log('relay ready'));
process.on('SIGTERM', () => process.exit(0));
