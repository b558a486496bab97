// Load shedding: at most `maxInFlight` requests are being served at once; one more is answered
// at once with 503 and Retry-After instead of queuing without bound. A request counts until its
// response has finished or its connection closed (so slow streams count too).
import type { RequestHandler } from 'express';

export interface ShedStats {
  inFlight: number;
  shed: number;
}

export function loadShedder(maxInFlight: number, retryAfterSeconds: number, stats: ShedStats): RequestHandler {
  return (req, res, next) => {
    if (stats.inFlight >= maxInFlight) {
      stats.shed++;
      res.setHeader('Retry-After', String(retryAfterSeconds));
      res.setHeader('Connection', 'close');
      res.status(503).type('text/plain').send('busy: try again later\n');
      return;
    }
    stats.inFlight++;
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      stats.inFlight--;
    };
    res.on('finish', release);
    res.on('close', release);
    next();
  };
}
