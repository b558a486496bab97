// HTTP clients for the availability tests: an ordinary request (timed), a reader that stalls after
// the status line, and a POST whose body trickles. Each binds the source address it is given, so
// one test plays many clients on loopback (Linux routes all of 127/8 to lo).
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  ms: number;
}

export function call(
  port: number,
  path: string,
  o: { from?: string; method?: string; body?: string | Buffer; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: o.method ?? 'GET', localAddress: o.from ?? '127.0.0.1', headers: o.headers ?? {}, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, ms: performance.now() - t0 }));
        res.on('error', reject);
      },
    );
    req.setTimeout(o.timeoutMs ?? 10_000, () => req.destroy(new Error(`${o.method ?? 'GET'} ${path}: no answer in ${o.timeoutMs ?? 10_000} ms`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

export const LIST_METHODS = '<?xml version="1.0"?><methodCall><methodName>system.listMethods</methodName><params/></methodCall>';

export function rpc(port: number, xml: string | Buffer, from = '127.0.0.1', timeoutMs?: number): Promise<Answer> {
  return call(port, '/RPC2', { from, method: 'POST', body: xml, headers: { 'content-type': 'text/xml' }, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
}

/** A raw connection that sent a request and reads nothing after the status line. */
export interface Held {
  socket: Socket;
  /** The response's status code (0 if the connection closed first). */
  status: Promise<number>;
  /** Resolves when the connection closed, with the ms since it was opened. */
  closed: Promise<number>;
}

function hold(port: number, from: string, head: string, after?: (s: Socket) => void): Held {
  const t0 = performance.now();
  const socket = connect({ host: '127.0.0.1', port, localAddress: from });
  socket.on('error', () => {});
  socket.write(head);
  after?.(socket);
  const status = new Promise<number>((resolve) => {
    let seen = '';
    const onData = (c: Buffer) => {
      seen += c.toString('latin1', 0, Math.min(c.length, 64));
      const m = /^HTTP\/1\.1 (\d{3})/.exec(seen);
      if (m || seen.length >= 12) {
        socket.off('data', onData);
        // From here nothing reads: Node stops reading the socket once its buffer is full, then the
        // kernel's receive buffer fills and the server's writes stall (TCP flow control).
        socket.pause();
        resolve(m ? Number(m[1]) : 0);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => resolve(0));
  });
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - t0)));
  return { socket, status, closed };
}

/** GET `path` and never read the body. */
export function stalledGet(port: number, path: string, from = '127.0.0.1'): Held {
  return hold(port, from, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
}

/** POST `path` declaring `length` bytes and sending one every `everyMs`. */
export function slowPost(port: number, path: string, o: { from?: string; length?: number; everyMs?: number } = {}): Held {
  const length = o.length ?? 1000;
  let timer: NodeJS.Timeout | undefined;
  const h = hold(
    port,
    o.from ?? '127.0.0.1',
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: text/xml\r\nContent-Length: ${length}\r\n\r\n`,
    (s) => {
      let sent = 0;
      timer = setInterval(() => {
        if (s.destroyed || sent >= length) return clearInterval(timer);
        s.write('<');
        sent++;
      }, o.everyMs ?? 50);
    },
  );
  h.socket.once('close', () => clearInterval(timer));
  return h;
}

/** `n` loopback source addresses 127.<b>.<c>.<d>, starting at 127.0.1.1. */
export function sources(n: number, base = 1): string[] {
  return Array.from({ length: n }, (_, i) => `127.0.${base + Math.floor(i / 250)}.${1 + (i % 250)}`);
}

/** `p`, or a rejection naming `what` after `ms` (a deadline that does not fire fails the test instead of hanging it). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
