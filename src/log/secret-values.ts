// Secrets in output other than log lines: `netroot attr list`, `netroot report kickstart` and the
// REST API show the value of a secret-named attribute (isSecretName, the same rule log redaction
// uses) as one fixed MASK, which does not tell the secret's length, unless the operator asks for
// secrets (--show-secrets; ?showSecrets=1 with the token).
import { isSecretName } from './redact.js';

export const MASK = '********';

/** Rows of attributes with each secret one's non-empty value as MASK (all of them when `reveal`). */
export function maskedRows<T extends { name: string; value: string }>(rows: readonly T[], reveal = false): T[] {
  return rows.map((a) => (reveal || a.value === '' || !isSecretName(a.name) ? a : { ...a, value: MASK }));
}

/** `text` with every occurrence of each secret attribute's non-empty value as MASK, longest first (so no
 * part of one is left). A very short secret also masks ordinary text that equals it: over-masking, never a leak. */
export function maskSecretValues(text: string, attributes: Readonly<Record<string, string>> | Iterable<[string, string]>): string {
  const entries = Symbol.iterator in attributes ? [...(attributes as Iterable<[string, string]>)] : Object.entries(attributes);
  const secrets = [...new Set(entries.filter(([name, value]) => value !== '' && isSecretName(name)).map(([, value]) => value))].sort(
    (a, b) => b.length - a.length,
  );
  return secrets.reduce((t, s) => t.split(s).join(MASK), text);
}
