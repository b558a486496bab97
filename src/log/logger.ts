// Structured, levelled logging backed by pino (issue #15). Every service takes a `Logger`; values
// under keys that name secrets (secret, password, token, chap...) are replaced by "[redacted]"
// before pino serializes anything (redact.ts): a secret never reaches a log line, in either format.
//
// Formats: `pretty` (the default) — one line `<ISO time> <LEVEL> <msg> k="v" n=1`, written by an
// in-process destination (no transport thread); `json` — pino's NDJSON with the level as a label
// and an ISO time. Both write synchronously to stderr (or to `write`), so the last lines before an
// exit are never lost. src/log/README.md says why.
import { pino, stdTimeFunctions, destination, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { prettyLine } from './pretty-line.js';
import { redact } from './redact.js';

export { redact, isSecretName } from './redact.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];
export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** Lowest level written; default info. */
  level?: Level;
  /** Default pretty. */
  format?: LogFormat;
  /** Receives each line without its newline; default: stderr, synchronously. */
  write?: (line: string) => void;
  /** Fields on every line (redacted like any other). */
  base?: Record<string, unknown>;
}

/** The record's own keys: a field with one of these names is written as `<name>_`. */
const RESERVED = new Set(['level', 'time', 'msg']);

/** Redacted fields, with names pino's record keys would shadow renamed. */
function clean(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  if (fields === undefined) return {};
  const out = redact(fields) as Record<string, unknown>;
  for (const k of Object.keys(out)) {
    if (!RESERVED.has(k)) continue;
    out[`${k}_`] = out[k];
    delete out[k];
  }
  return out;
}

let stderrSink: DestinationStream | undefined;
/** One synchronous fd-2 writer per process (SonicBoom, sync: true). */
function stderr(): DestinationStream {
  stderrSink ??= destination({ dest: 2, sync: true });
  return stderrSink;
}

function sink(format: LogFormat, write: ((line: string) => void) | undefined): DestinationStream {
  if (write === undefined) {
    if (format === 'json') return stderr();
    return { write: (json: string) => stderr().write(prettyLine(json) + '\n') };
  }
  return { write: (json: string) => write(format === 'json' ? json.trimEnd() : prettyLine(json)) };
}

type Pino = PinoLogger<never>;

/** A line below the level costs nothing: its fields are not copied and redacted (a DHCP answer logs one per packet). */
function wrap(p: Pino): Logger {
  return {
    debug: (m, f) => void (p.isLevelEnabled('debug') && p.debug(clean(f), m)),
    info: (m, f) => void (p.isLevelEnabled('info') && p.info(clean(f), m)),
    warn: (m, f) => void (p.isLevelEnabled('warn') && p.warn(clean(f), m)),
    error: (m, f) => void (p.isLevelEnabled('error') && p.error(clean(f), m)),
    child: (fields) => wrap(p.child(clean(fields))),
  };
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const p = pino(
    {
      level: opts.level ?? 'info',
      base: null,
      messageKey: 'msg',
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Fields are already plain redacted values: no serializer may bring an Error's fields back.
      serializers: { err: (v: unknown) => v },
    },
    sink(opts.format ?? 'pretty', opts.write),
  );
  const logger = wrap(p);
  return opts.base === undefined ? logger : logger.child(opts.base);
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
