// iSCSI names as they arrive in a login (RFC 7143 §4.2.7; InitiatorName §13.5, TargetName §13.4):
// the only check a name gets before anything stores, compares or logs it.
//
//  - §4.2.7.1: at most 223 bytes in UTF-8.
//  - §4.2.7.2: no whitespace or control characters; only letters, digits and '-' '.' ':'.
//  - §4.2.7.3-§4.2.7.6: a type designator — "iqn." yyyy-mm "." naming authority [":" unique part],
//    "eui." 16 hex digits, "naa." 16 or 32 hex digits.
//
// Tolerant where tolerance costs nothing: upper-case letters pass (stringprep, RFC 3722, would fold
// them; the RFCs' own eui. examples use upper-case hex, and some initiator configurations carry
// upper case). Names are then compared exactly as given, so a mis-cased name simply matches no
// ACL. src/storage/iqn.ts is the strict validator for the names netroot itself generates.

export const MAX_ISCSI_NAME_BYTES = 223;

const CHARS = /^[\p{L}\p{N}\p{M}.:-]+$/u;
const IQN = /^iqn\.\d{4}-\d{2}\.[^:.][^:]*(:.*)?$/i;
const EUI = /^eui\.[0-9a-f]{16}$/i;
const NAA = /^naa\.([0-9a-f]{16}|[0-9a-f]{32})$/i;

/** Why `name` is not an acceptable iSCSI name, or undefined when it is. Never echoes the name. */
export function iscsiNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'empty';
  // A cheap bound before the byte count: 223 bytes are at most 223 UTF-16 code units.
  if (name.length > MAX_ISCSI_NAME_BYTES || Buffer.byteLength(name, 'utf8') > MAX_ISCSI_NAME_BYTES) {
    return `longer than ${MAX_ISCSI_NAME_BYTES} bytes`;
  }
  if (!CHARS.test(name)) return 'characters other than letters, digits, "-", "." and ":"';
  const type = name.slice(0, 4).toLowerCase();
  if (type === 'iqn.') return IQN.test(name) ? undefined : 'not iqn.yyyy-mm.<naming authority>[:<unique>]';
  if (type === 'eui.') return EUI.test(name) ? undefined : 'not eui. and 16 hex digits';
  if (type === 'naa.') return NAA.test(name) ? undefined : 'not naa. and 16 or 32 hex digits';
  return 'no iqn., eui. or naa. type designator';
}
