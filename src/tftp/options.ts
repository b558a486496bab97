// Option negotiation for a read request (pure). Contracts:
//   blksize    RFC 2348: 8..65464. Larger requests are answered with the server's maximum (the
//              server may answer smaller); below 8 or not a number: option ignored.
//   tsize      RFC 2349: on an RRQ the client sends 0 and the server answers the file size. For an
//              empty file the option is left out: curl (lib/tftp.c) fails on "tsize 0" in an OACK
//              ("invalid tsize"), and RFC 2349 lets a server omit it.
//   timeout    RFC 2349: 1..255 seconds; outside that range the option is ignored (not acknowledged).
//              The OACK must echo the client's value, so a server that wants to retransmit sooner
//              than a long client timeout ignores the option instead (limit maxTimeoutS).
//   windowsize RFC 7440: 1..65535 blocks; 0, 70000 or not a number: ignored. The server may answer
//              a smaller value (its maximum).
//   window     blksize × windowsize is what one transfer may have in flight (and buffered). Above
//              maxWindowBytes the windowsize is answered smaller (RFC 7440), then, if one block
//              alone is larger, the blksize (RFC 2348), never below 512 unless the client asked for
//              less. A client that sent neither option gets 512 × 1, whatever the cap: the caller
//              checks blksize × windowsize against its cap and refuses what does not fit.
// Unknown options are ignored (RFC 2347: not included in the OACK). No accepted option → no OACK,
// the transfer starts with DATA block 1 (RFC 1350 behaviour).

export interface Negotiated {
  blksize: number;
  windowsize: number;
  /** Retransmission timeout in ms. */
  timeoutMs: number;
  /** What the OACK carries, in the client's order; empty → no OACK. */
  oack: Map<string, string>;
  /** The window (blksize × windowsize) was answered smaller than asked because of maxWindowBytes. */
  narrowed: boolean;
}

export interface NegotiationLimits {
  maxBlksize: number;
  maxWindowsize: number;
  defaultTimeoutMs: number;
  /** Client timeouts above this are ignored (the server keeps defaultTimeoutMs). Default 255. */
  maxTimeoutS?: number;
  /** Upper bound for blksize × windowsize in bytes (default: no bound beyond the two maxima). */
  maxWindowBytes?: number;
}

function num(v: string): number | null {
  return /^[0-9]{1,10}$/.test(v) ? Number(v) : null;
}

export function negotiate(requested: ReadonlyMap<string, string>, fileSize: number, limits: NegotiationLimits): Negotiated {
  const n: Negotiated = { blksize: 512, windowsize: 1, timeoutMs: limits.defaultTimeoutMs, oack: new Map(), narrowed: false };
  for (const [name, value] of requested) {
    const v = num(value);
    switch (name) {
      case 'blksize':
        if (v !== null && v >= 8) {
          n.blksize = Math.min(v, 65464, limits.maxBlksize);
          n.oack.set(name, String(n.blksize));
        }
        break;
      case 'tsize':
        if (v !== null && fileSize > 0) n.oack.set(name, String(fileSize));
        break;
      case 'timeout':
        if (v !== null && v >= 1 && v <= Math.min(255, limits.maxTimeoutS ?? 255)) {
          n.timeoutMs = v * 1000;
          n.oack.set(name, String(v));
        }
        break;
      case 'windowsize':
        if (v !== null && v >= 1 && v <= 65535) {
          n.windowsize = Math.min(v, limits.maxWindowsize);
          n.oack.set(name, String(n.windowsize));
        }
        break;
      default:
        break;
    }
  }
  const cap = limits.maxWindowBytes;
  if (cap !== undefined && n.blksize * n.windowsize > cap) {
    if (n.oack.has('blksize') && n.blksize > cap) {
      const blksize = Math.max(Math.floor(cap), Math.min(512, n.blksize));
      if (blksize < n.blksize) {
        n.blksize = blksize;
        n.oack.set('blksize', String(blksize));
        n.narrowed = true;
      }
    }
    const windowsize = Math.max(1, Math.floor(cap / n.blksize));
    if (n.oack.has('windowsize') && windowsize < n.windowsize) {
      n.windowsize = windowsize;
      n.oack.set('windowsize', String(windowsize));
      n.narrowed = true;
    }
  }
  return n;
}
