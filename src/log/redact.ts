// The redaction rule every log line goes through before it is serialized: a value under a key that
// names a secret becomes "[redacted]", at any depth, and an Error keeps only name, message, code and
// (redacted) cause — never its own enumerable fields, which may carry a CHAP secret or a token.

// crypt(3) hashes (`rootpw_crypted`) count: they can be cracked offline.
const SECRET_KEY = /secret|password|passwd|token|chap|credential|crypted/i;

/** How deep redact() looks; anything deeper is replaced (never written unredacted). */
export const REDACT_MAX_DEPTH = 8;
export const REDACTED = '[redacted]';
export const TOO_DEEP = '[too deep]';

/** Whether a key names a secret (the redaction rule; <eval> also keeps such attributes out of its environment). */
export function isSecretName(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * A copy of `value` with every secret-named key's value replaced by "[redacted]"; Errors become
 * `{ name, message, code, cause? }`. Objects deeper than REDACT_MAX_DEPTH (or cyclic) become
 * "[too deep]". Primitives are returned as they are.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= REDACT_MAX_DEPTH) return TOO_DEEP;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
    if (value.cause !== undefined) out['cause'] = redact(value.cause, depth + 1);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecretName(k) ? REDACTED : redact(v, depth + 1);
  return out;
}
