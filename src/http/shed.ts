// Admission control: which requests are served at once, for whom and of what kind. A request
// holds its slot from the end of its headers until its response has finished or its connection
// closed ('finish' or 'close', whichever comes first: a cut, an abort and a normal end all free it
// exactly once). What is refused is answered at once, never queued:
//   - maxInFlight in all → 503 + Retry-After (the server is busy);
//   - maxInFlightPerSource from one client address → 429 + Retry-After (RFC 6585 §4: that client
//     sends too much), so one address cannot take every slot;
//   - boot files (big responses a client may stop reading) take at most half of the slots
//     (maxFileStreams, and maxFileStreamsPerSource per address): iPXE scripts, kickstarts and /RPC2
//     keep the other half however many downloads stall. When that share is full, a download whose
//     client has read nothing for `evictStalledAfterMs` is cut for the newcomer (the longest
//     stalled first), if its address holds at least two downloads more than the newcomer's: a node
//     asking for its kernel takes the place of a stalled download from an address that holds
//     several, while stalling clients cannot keep cutting each other to stay fresh (cuts only
//     even the shares out). A download that makes progress is never cut;
//   - requests whose body is still arriving take at most a quarter (maxReceivingBodies); when those
//     are all taken the OLDEST is cut for the newcomer, so slow uploads from any number of addresses
//     cannot lock the door, while a node's POST (it arrives with its headers) is through at once.
// Deadlines that end stalled requests live elsewhere: server.ts (headers and body, Node's own
// timers) and send-watchdog.ts (responses the client does not read).
import type { Request, RequestHandler, Response } from 'express';
import { remoteIPv4 } from './remote.js';
import type { HttpLimits } from './limits.js';

export type ShedLimits = Pick<
  HttpLimits,
  'maxInFlight' | 'maxInFlightPerSource' | 'maxFileStreams' | 'maxFileStreamsPerSource' | 'maxReceivingBodies' | 'retryAfterSeconds'
>;

export interface ShedStats {
  inFlight: number;
  /** Requests refused with 503 or 429. */
  shed: number;
  /** Of those, refused because their own address had too many (429). */
  shedPerSource: number;
  fileStreams: number;
  receiving: number;
  /** Slow uploads cut to make room for a newer request with a body. */
  evicted: number;
  /** Stalled downloads cut to make room for a newer one. */
  filesEvicted: number;
}

export function newShedStats(): ShedStats {
  return { inFlight: 0, shed: 0, shedPerSource: 0, fileStreams: 0, receiving: 0, evicted: 0, filesEvicted: 0 };
}

/** RFC 9112 §6.3: a request has a body iff it carries Transfer-Encoding or a non-zero Content-Length. */
function hasBody(req: Request): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const len = req.headers['content-length'];
  return len !== undefined && len !== '0';
}

interface Slot {
  req: Request;
  res: Response;
  /** Its address's counters. */
  mine: { all: number; files: number };
  release(): void;
}

export interface ShedOptions {
  /** True for requests that stream a big file (their own, smaller share of the slots). */
  isFileStream(req: Request): boolean;
  /** How long a response's client has read nothing while bytes wait, in ms (send-watchdog.ts). */
  stalledFor?(res: Response): number;
  /** A download stalled this long may be cut when the file share is full. Default: never. */
  evictStalledAfterMs?: number;
}

export function loadShedder(limits: ShedLimits, stats: ShedStats, opts: ShedOptions): RequestHandler {
  const maxFiles = Math.min(limits.maxFileStreams, Math.max(1, Math.floor(limits.maxInFlight / 2)));
  const maxReceiving = Math.min(limits.maxReceivingBodies, Math.max(1, Math.floor(limits.maxInFlight / 4)));
  const perSource = new Map<string, { all: number; files: number }>();
  /** Requests still receiving their body, oldest first (a Set keeps insertion order). */
  const receiving = new Set<Slot>();
  const files = new Set<Slot>();

  /**
   * Cuts the longest-stalled download of an address holding more than `newcomerHolds` + 1, if one
   * stalled long enough; true if it made room.
   */
  const evictStalledFile = (newcomerHolds: number): boolean => {
    const after = opts.evictStalledAfterMs;
    if (after === undefined || !opts.stalledFor) return false;
    let victim: Slot | undefined;
    let longest = after;
    for (const s of files) {
      if (s.mine.files <= newcomerHolds + 1) continue;
      const ms = opts.stalledFor(s.res);
      if (ms >= longest) {
        longest = ms;
        victim = s;
      }
    }
    if (!victim) return false;
    stats.filesEvicted++;
    victim.release();
    victim.req.socket.resetAndDestroy();
    return true;
  };

  const refuse = (res: Response, status: 429 | 503, why: string) => {
    stats.shed++;
    if (status === 429) stats.shedPerSource++;
    res.setHeader('Retry-After', String(limits.retryAfterSeconds));
    res.setHeader('Connection', 'close');
    res.status(status).type('text/plain').send(`${why}: try again later\n`);
  };

  return (req, res, next) => {
    const from = remoteIPv4(req);
    const mine = perSource.get(from) ?? { all: 0, files: 0 };
    const file = opts.isFileStream(req);
    if (stats.inFlight >= limits.maxInFlight) return refuse(res, 503, 'busy');
    if (mine.all >= limits.maxInFlightPerSource) return refuse(res, 429, 'too many requests from your address');
    if (file && mine.files >= limits.maxFileStreamsPerSource) return refuse(res, 429, 'too many downloads from your address');
    if (file && stats.fileStreams >= maxFiles && !evictStalledFile(mine.files)) return refuse(res, 503, 'busy serving files');
    const body = hasBody(req);
    if (body && receiving.size >= maxReceiving) {
      const oldest = receiving.values().next().value;
      if (oldest) {
        stats.evicted++;
        oldest.release();
        oldest.req.socket.resetAndDestroy();
      }
    }

    stats.inFlight++;
    mine.all++;
    if (file) {
      stats.fileStreams++;
      mine.files++;
    }
    perSource.set(from, mine);
    let done = false;
    let stillReceiving = body;
    const endReceiving = () => {
      if (!stillReceiving) return;
      stillReceiving = false;
      receiving.delete(slot);
      stats.receiving--;
    };
    const slot: Slot = {
      req,
      res,
      mine,
      release: () => {
        if (done) return;
        done = true;
        endReceiving();
        stats.inFlight--;
        mine.all--;
        if (file) {
          files.delete(slot);
          stats.fileStreams--;
          mine.files--;
        }
        if (mine.all === 0) perSource.delete(from);
      },
    };
    if (file) files.add(slot);
    if (body) {
      receiving.add(slot);
      stats.receiving++;
      // 'end' comes only once a handler consumed the body; a body nobody reads keeps the request
      // "receiving" until its response ends, which is what it is.
      req.once('end', endReceiving);
    }
    res.once('finish', slot.release);
    res.once('close', slot.release);
    next();
  };
}
