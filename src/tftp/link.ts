// A transfer's own socket (its TID, RFC 1350 section 4), bound to the server's address and
// connected to the client, and the data phase that runs on it: windows, go-back, duplicate ACKs,
// retransmission and the retry limit (contract: native/tftpio/tftpio.c's header, and
// data-phase.ts). The link owns the data phase; transfer.ts owns what comes before and after it
// (negotiation, the file's bytes, ERROR from the client, the end).
//
// Two links keep this one contract:
//  - native (native/tftpio, `npm run build:native`): the fast path. An ACK is answered in the
//    poll callback that reads it, a window goes out with one sendmmsg, and no JS runs until
//    something needs a decision. node:dgram costs about 15 µs of user time per lockstep block here
//    (buffer allocations, an address object and an emit per datagram, a SendWrap per send).
//  - dgram (dgram-link.ts): node:dgram and data-phase.ts, for a machine without a C toolchain;
//    the reference the tests run the native link against.
// selectLink() picks: 'auto' (the default) takes native and falls back to dgram when the helper
// cannot be loaded, saying why; 'native' refuses to start without it; 'dgram' takes dgram.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageDir } from '../config/index.js';
import { NetrootError } from '../errors.js';
import { dgramStats, openDgramLink } from './dgram-link.js';
import { LinkBase } from './link-base.js';
import type { LinkChoice, LinkKind, LinkState, LinkStats, OpenLink, PhaseParams } from './link-contract.js';

export type { LinkChoice, LinkKind, LinkState, LinkStats, OpenLink, PhaseParams, TransferLink } from './link-contract.js';

/** SO_SNDBUF asked for by default: a window of 64 blocks of 65464 bytes (RFC 7440 + 2348 maxima). */
export const DEFAULT_SEND_BUFFER = 4 * 1024 * 1024;

interface TftpIo {
  init(receiver: (count: number) => void): { slab: Buffer; meta: Int32Array };
  open(local: string, remote: string, port: number, sendBufferBytes: number): [number, number];
  provide(id: number, offset: number, buf: Buffer): number;
  start(id: number, oack: Buffer | null, size: number, blksize: number, windowsize: number, timeoutMs: number, maxRetries: number): number;
  state(id: number): [number, number, number, number, number, number, number];
  send(id: number, buf: Buffer): void;
  close(id: number): void;
  stats(): LinkStats;
  SLOT_BYTES: number;
}

interface Loaded {
  io: TftpIo;
  links: (NativeLink | undefined)[];
}

/** tftpio.c's batch flags. */
const FLAG_EVENT_NEED = 2;
const FLAG_EVENT_DONE = 4;
const FLAG_EVENT_TIMEOUT = 8;

/** Where `npm run build:native` puts the helper. */
export function nativeAddonPath(): string {
  return join(packageDir(), 'native', 'tftpio', 'build', 'Release', 'tftpio.node');
}

const loaded = new Map<string, Loaded>();

/** Loads the helper at `path` once per process; throws E_TFTP_NATIVE naming why it cannot. */
function load(path: string): Loaded {
  const had = loaded.get(path);
  if (had) return had;
  if (!existsSync(path)) throw new NetrootError('E_TFTP_NATIVE', `the TFTP I/O helper is not built (${path}): run npm run build:native (needs g++ and make)`);
  let io: TftpIo;
  try {
    io = createRequire(import.meta.url)(path) as TftpIo;
  } catch (e) {
    // Built for another Node ABI, or a broken file: the same remedy.
    throw new NetrootError(
      'E_TFTP_NATIVE',
      `the TFTP I/O helper cannot be loaded (${path}: ${e instanceof Error ? e.message : String(e)}): run npm run build:native`,
    );
  }
  const links: (NativeLink | undefined)[] = [];
  const slot = io.SLOT_BYTES;
  const { slab, meta } = io.init((count) => {
    for (let i = 0; i < count; i++) {
      const id = meta[3 * i]!;
      const link = id >= 0 ? links[id] : undefined;
      if (!link) continue; // closed while its entry waited in the batch
      const flags = meta[3 * i + 2]!;
      try {
        if (flags & FLAG_EVENT_NEED) link.onNeed(meta[3 * i + 1]! >>> 0);
        else if (flags & (FLAG_EVENT_DONE | FLAG_EVENT_TIMEOUT)) link.onEnd((flags & FLAG_EVENT_DONE) !== 0);
        else link.onMessage(slab.subarray(i * slot, i * slot + meta[3 * i + 1]!));
      } catch (e) {
        // A handler must not throw (Transfer's never do); if one does, the other entries of the
        // batch are still delivered and the error surfaces as uncaught.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  });
  const l = { io, links };
  loaded.set(path, l);
  return l;
}

class NativeLink extends LinkBase {
  readonly kind = 'native' as const;

  constructor(
    private readonly l: Loaded,
    private readonly id: number,
    port: number,
  ) {
    super(port);
    l.links[id] = this;
  }

  protected provideBytes(offset: number, data: Buffer): number {
    return this.l.io.provide(this.id, offset, data);
  }

  protected startPhase(p: PhaseParams): number {
    return this.l.io.start(this.id, p.oack, p.size, p.blksize, p.windowsize, p.timeoutMs, p.maxRetries);
  }

  state(): LinkState {
    if (!this.open) return { base: 0, sentTo: 0, windows: 0, duplicateAcks: 0, retransmits: 0, timeouts: 0, badAcks: 0 };
    const [base, sentTo, windows, duplicateAcks, retransmits, timeouts, badAcks] = this.l.io.state(this.id);
    return { base, sentTo, windows, duplicateAcks, retransmits, timeouts, badAcks };
  }

  send(packet: Buffer): void {
    if (this.open) this.l.io.send(this.id, packet);
  }

  protected shut(): void {
    this.l.links[this.id] = undefined;
    this.l.io.close(this.id);
  }
}

function nativeOpener(l: Loaded): OpenLink {
  return async (localAddress, client, sendBufferBytes) => {
    let idPort: [number, number];
    try {
      idPort = l.io.open(localAddress, client.address, client.port, sendBufferBytes);
    } catch (e) {
      throw new NetrootError(
        'E_TFTP_LINK',
        `tftp: cannot open a transfer socket to ${client.address}:${client.port}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    return new NativeLink(l, idPort[0], idPort[1]);
  };
}

export interface LinkSelection {
  kind: LinkKind;
  /**
   * A link bound to `localAddress` (an IPv4 literal; '0.0.0.0' lets routing pick) on a port the
   * kernel chooses, connected to the client, with SO_SNDBUF `sendBufferBytes` (the kernel caps it
   * at net.core.wmem_max; 0 keeps its default). Rejects with E_TFTP_LINK when the kernel refuses.
   */
  open: OpenLink;
  /** Set when 'auto' fell back to dgram: why the native helper could not be used. */
  fallback?: string;
}

/**
 * The link transfers use. 'auto': native when the helper at `addonPath` loads, else dgram with
 * `fallback` saying why (the caller logs it). 'native': throws E_TFTP_NATIVE when it does not.
 */
export function selectLink(choice: LinkChoice = 'auto', addonPath = nativeAddonPath()): LinkSelection {
  if (choice === 'dgram') return { kind: 'dgram', open: openDgramLink };
  try {
    return { kind: 'native', open: nativeOpener(load(addonPath)) };
  } catch (e) {
    if (choice === 'native') throw e;
    return { kind: 'dgram', open: openDgramLink, fallback: e instanceof Error ? e.message : String(e) };
  }
}

/** Counters of all links of this process, both kinds added up. */
export function linkStats(): LinkStats {
  const s = { ...dgramStats };
  for (const { io } of loaded.values()) {
    const n = io.stats();
    for (const k of Object.keys(s) as (keyof LinkStats)[]) s[k] += n[k];
  }
  return s;
}
