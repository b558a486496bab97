// One error base class for netroot. Every error carries a stable literal `code`
// (like undici's), so callers and tests branch on codes, never on messages.
// `user` errors are the operator's to fix: the CLI prints `netroot: <message>` and exits 2;
// everything else exits 1.

export class NetrootError extends Error {
  readonly code: string;
  readonly user: boolean;
  /** Where in the input the problem is: a file and line, a byte offset, or a field name. */
  readonly where: string | undefined;

  constructor(code: string, message: string, options: { user?: boolean; where?: string; cause?: unknown } = {}) {
    super(options.where ? `${options.where}: ${message}` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NetrootError';
    this.code = code;
    this.user = options.user ?? false;
    this.where = options.where;
  }
}

/** An error the operator caused and can fix (bad flag, unknown host, malformed XML...). Exit 2. */
export class UserError extends NetrootError {
  constructor(code: string, message: string, options: { where?: string; cause?: unknown } = {}) {
    super(code, message, { ...options, user: true });
    this.name = 'UserError';
  }
}

/** Several problems found at once (config validation, `graph check`): all are reported, not the first. */
export class MultiError extends UserError {
  readonly problems: readonly NetrootError[];
  constructor(code: string, summary: string, problems: readonly NetrootError[]) {
    super(code, `${summary}:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`);
    this.name = 'MultiError';
    this.problems = problems;
  }
}

/** A decode error in an untrusted byte stream: names the byte offset and field (DESIGN: codecs). */
export class DecodeError extends NetrootError {
  readonly offset: number;
  readonly field: string;
  constructor(code: string, field: string, offset: number, message: string) {
    super(code, `${field} at byte ${offset}: ${message}`);
    this.name = 'DecodeError';
    this.offset = offset;
    this.field = field;
  }
}

export function isNetrootError(e: unknown): e is NetrootError {
  return e instanceof NetrootError;
}
