// Issue #14 item 5: one thread for everything. Before the limits, a 1 MiB /RPC2 body took up to
// 1.4 s of CPU to parse before any token was checked, and eight parallel posts made /healthz take
// 7–9 s, a TFTP request 6 s and an iSCSI login 6.6 s: the parse ran on the event loop every
// service shares.
//
// Behaviour (scale 1: 8 clients, spread round-robin over the source addresses): each posts, in a
// loop and one at a time, the bodies that cost the parser the most, in turn: 1 MiB of the densest
// well-formed call (the old limit's largest), 64 KiB of it (the new limit's largest), and 64 KiB as
// dense as 1,024 `<`/`&` allow (the costliest body the default limits still parse). An answer of
// any kind (a fault, 413, 429, 503, a reset) is followed by the next post at once.
import { request } from 'node:http';
import type { Attack, RunningAttack } from './types.js';

export const CLIENTS = 8;
const HEAD = '<?xml version="1.0"?><methodCall><methodName>netroot.reportStatus</methodName><params>';
const TAIL = '</params></methodCall>';
const INT_PARAM = '<param><value><int>1</int></value></param>';

/** `bytes` of `<param><value><int>1</int></value></param>`: the densest well-formed call. */
export function denseCall(bytes: number): Buffer {
  const n = Math.max(1, Math.floor((bytes - HEAD.length - TAIL.length) / INT_PARAM.length));
  const body = HEAD + INT_PARAM.repeat(n);
  return Buffer.from(body + ' '.repeat(Math.max(0, bytes - body.length - TAIL.length)) + TAIL);
}

/** The costliest call with at most `maxMarkup` of `<` and `&`, `bytes` long (the rest is text). */
export function worstAcceptedCall(bytes: number, maxMarkup: number): Buffer {
  const fixed = 2 * 6 + 6; // HEAD + TAIL hold 12, the text param 6
  const inner = INT_PARAM.repeat(Math.floor((maxMarkup - fixed) / 6));
  const open = '<param><value><string>';
  const close = '</string></value></param>';
  const room = bytes - HEAD.length - TAIL.length - inner.length - open.length - close.length;
  return Buffer.from(HEAD + inner + open + 'a'.repeat(Math.max(0, room)) + close + TAIL);
}

export const BODIES: readonly Buffer[] = [denseCall(1024 * 1024), denseCall(64 * 1024), worstAcceptedCall(64 * 1024, 1024)];

type Stats = {
  posts: number;
  /** Answers by kind: 200 (a methodResponse; faults among them), 413, 429, 503, other. */
  ok: number;
  faults: number;
  tooLarge: number;
  perSource: number;
  busy: number;
  other: number;
  /** Posts the server closed before answering (e.g. after a 413 while the client still wrote). */
  resets: number;
  bytesSent: number;
};

export const attack: Attack = {
  name: 'rpc-parse',
  what: 'issue #14 item 5: 8 clients posting the costliest /RPC2 bodies (1 MiB and 64 KiB of dense markup) in a loop, to hold the event loop in the XML parser',
  async start(t, opts): Promise<RunningAttack> {
    const clients = Math.max(1, Math.round(CLIENTS * (opts?.scale ?? 1)));
    const sources: (string | undefined)[] = t.sourceAddresses && t.sourceAddresses.length > 0 ? [...t.sourceAddresses] : [undefined];
    const st: Stats = { posts: 0, ok: 0, faults: 0, tooLarge: 0, perSource: 0, busy: 0, other: 0, resets: 0, bytesSent: 0 };
    const open = new Set<import('node:http').ClientRequest>();
    let stopped = false;

    const post = (from: string | undefined, body: Buffer): Promise<void> =>
      new Promise((done) => {
        st.posts++;
        const req = request(
          {
            host: t.host,
            port: t.httpPort,
            path: '/RPC2',
            method: 'POST',
            agent: false,
            headers: { 'content-type': 'text/xml', 'content-length': String(body.length) },
            ...(from ? { localAddress: from } : {}),
          },
          (res) => {
            const s = res.statusCode ?? 0;
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              if (text.length < 512) text += c;
            });
            res.on('end', () => {
              if (s === 200) {
                st.ok++;
                if (text.includes('<fault>')) st.faults++;
              } else if (s === 413) st.tooLarge++;
              else if (s === 429) st.perSource++;
              else if (s === 503) st.busy++;
              else st.other++;
              done();
            });
            res.on('error', () => done());
          },
        );
        open.add(req);
        req.on('close', () => {
          open.delete(req);
          done();
        });
        req.on('error', () => {
          st.resets++;
          done();
        });
        req.end(body, () => (st.bytesSent += body.length));
      });

    const loops: Promise<void>[] = [];
    const started: Promise<void>[] = [];
    for (let i = 0; i < clients; i++) {
      const from = sources[i % sources.length];
      let first: () => void = () => {};
      started.push(new Promise((r) => (first = r)));
      loops.push(
        (async () => {
          for (let k = i; !stopped; k++) {
            const p = post(from, BODIES[k % BODIES.length]!);
            first();
            await p;
          }
        })(),
      );
    }
    await Promise.all(started);

    return {
      stats: () => ({ ...st }),
      async stop() {
        stopped = true;
        for (const r of open) r.destroy();
        await Promise.all(loops);
      },
    };
  },
};
