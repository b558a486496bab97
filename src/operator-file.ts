// Reads a file whose path the operator gave (--token-file, --config, --from-config, a roll or image
// directory). The reasons an operator can fix — the path does not exist, is a directory, is not
// readable — become one UserError E_FILE_UNREADABLE naming the flag, the path and the reason (exit
// 2, no stack); any other error (EIO, EMFILE) is rethrown unchanged: it is a failure, not input.
// A leaf: imports only errors.ts.
import { readFileSync, statSync, type Stats } from 'node:fs';
import { UserError } from './errors.js';

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'is a directory, not a file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the path is too long',
};

/** The operator-fixable reason for a file-system error, or undefined for any other error. */
export function operatorFileReason(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && Object.hasOwn(REASONS, code) ? REASONS[code] : undefined;
}

/** Wraps an operator-fixable file-system error from `path` (given with `flag`) as E_FILE_UNREADABLE. */
export function operatorFileError(e: unknown, path: string, flag: string): unknown {
  const reason = operatorFileReason(e);
  return reason === undefined ? e : new UserError('E_FILE_UNREADABLE', `${path}: ${reason}`, { where: flag, cause: e });
}

/** `readFileSync(path, 'utf8')`, with the operator's mistakes reported as one line naming `flag`. */
export function readOperatorFile(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw operatorFileError(e, path, flag);
  }
}

/** `statSync(path)`, with the operator's mistakes reported as one line naming `flag`. */
export function statOperatorPath(path: string, flag: string): Stats {
  try {
    return statSync(path);
  } catch (e) {
    throw operatorFileError(e, path, flag);
  }
}
