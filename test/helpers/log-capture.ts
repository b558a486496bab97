// A real logger (createLogger, debug level) that keeps what it writes in both formats: `records`
// (the json lines, parsed) and `pretty` (the default one-line shape), for log-line tests.
import { createLogger, type Logger } from '../../src/log/logger.js';

export interface LogCapture {
  logger: Logger;
  records: Array<Record<string, unknown>>;
  pretty: string[];
}

export function captureLogs(level: 'debug' | 'info' = 'debug'): LogCapture {
  const records: Array<Record<string, unknown>> = [];
  const pretty: string[] = [];
  const json = createLogger({ format: 'json', level, write: (l) => records.push(JSON.parse(l) as Record<string, unknown>) });
  const text = createLogger({ level, write: (l) => pretty.push(l) });
  const both = (a: Logger, b: Logger): Logger => ({
    debug: (m, f) => (a.debug(m, f), b.debug(m, f)),
    info: (m, f) => (a.info(m, f), b.info(m, f)),
    warn: (m, f) => (a.warn(m, f), b.warn(m, f)),
    error: (m, f) => (a.error(m, f), b.error(m, f)),
    child: (fields) => both(a.child(fields), b.child(fields)),
  });
  return { logger: both(json, text), records, pretty };
}
