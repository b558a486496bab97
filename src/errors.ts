// One error base class for netroot. Every error carries a stable literal `code`
// (like undici's), so callers and tests branch on codes and `where`, never on messages.
// Codes come only from the table in error-codes.ts (their meaning, HTTP status and exit code).
// `user` errors are the operator's to fix: the CLI prints `netroot: <message>` and exits 2;
// everything else exits 1.
import { ERROR_CODES, EXIT, type ErrorCode } from './error-codes.js';

export type { ErrorCode } from './error-codes.js';

export class NetrootError extends Error {
  readonly code: ErrorCode;
  readonly user: boolean;
  /** Where in the input the problem is: a file and line, a byte offset, or a field name. */
  readonly where: string | undefined;

  /** `user` defaults to the table's kind for `code`; say it only where this site differs. */
  constructor(code: ErrorCode, message: string, options: { user?: boolean; where?: string; cause?: unknown } = {}) {
    super(options.where ? `${options.where}: ${message}` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NetrootError';
    this.code = code;
    this.user = options.user ?? ERROR_CODES[code].exit === EXIT.operator;
    this.where = options.where;
  }
}

/** An error the operator caused and can fix (bad flag, unknown host, malformed XML...). Exit 2. */
export class UserError extends NetrootError {
  constructor(code: ErrorCode, message: string, options: { where?: string; cause?: unknown } = {}) {
    super(code, message, { ...options, user: true });
    this.name = 'UserError';
  }
}

/** Several problems found at once (config validation, `graph check`): all are reported, not the first. */
export class MultiError extends UserError {
  readonly problems: readonly NetrootError[];
  constructor(code: ErrorCode, summary: string, problems: readonly NetrootError[]) {
    super(code, `${summary}:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`);
    this.name = 'MultiError';
    this.problems = problems;
  }
}

/** A decode error in an untrusted byte stream: names the byte offset and field (DESIGN: codecs). */
export class DecodeError extends NetrootError {
  readonly offset: number;
  readonly field: string;
  constructor(code: ErrorCode, field: string, offset: number, message: string) {
    super(code, `${field} at byte ${offset}: ${message}`);
    this.name = 'DecodeError';
    this.offset = offset;
    this.field = field;
  }
}

export function isNetrootError(e: unknown): e is NetrootError {
  return e instanceof NetrootError;
}

/** The HTTP status for an error: the table's, unless this site overrode the code's usual kind
 * (then 400 for the operator's, 500 for a failure). */
export function httpStatusOf(e: NetrootError): number {
  const info = ERROR_CODES[e.code];
  if (e.user === (info.exit === EXIT.operator)) return info.status;
  return e.user ? 400 : 500;
}

/** The CLI exit code for an error: 2 for the operator's, 1 for a failure (error-codes.ts EXIT). */
export function exitCodeOf(e: unknown): number {
  return e instanceof NetrootError && e.user ? EXIT.operator : EXIT.failure;
}
