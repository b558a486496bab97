// iSCSI names (RFC 7143 §4.2.7; InitiatorName §13.5, TargetName §13.4), the two checks netroot
// makes, in one place that every folder imports:
//
//  - iscsiNameProblem: a name as it arrives in a login, the only check it gets before anything
//    stores, compares or logs it. Tolerant where tolerance costs nothing: upper-case letters pass
//    (stringprep, RFC 3722, would fold them; the RFCs' own eui. examples use upper-case hex, and
//    some initiator configurations carry upper case). Names are then compared exactly as given, so
//    a mis-cased name simply matches no ACL.
//  - validateIqn: the strict form netroot itself generates, exports and puts on kernel command
//    lines: already stringprep-normalised ASCII (a-z 0-9 '-' '.' ':'), a real month, a reversed
//    domain as naming authority.
//
//  §4.2.7.1: at most 223 bytes in UTF-8. §4.2.7.2: no whitespace or control characters; only
//  letters, digits and '-' '.' ':'. §4.2.7.3-§4.2.7.6: a type designator — "iqn." yyyy-mm "."
//  naming authority [":" unique part], "eui." 16 hex digits, "naa." 16 or 32 hex digits.

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

/** Problems with an iSCSI name; empty when valid. */
export function validateIqn(name: string): string[] {
  const p: string[] = [];
  if (typeof name !== 'string' || name.length === 0) return ['is empty'];
  if (Buffer.byteLength(name, 'utf8') > MAX_ISCSI_NAME_BYTES) p.push(`is longer than ${MAX_ISCSI_NAME_BYTES} bytes`);
  if (name.startsWith('eui.')) {
    if (!/^eui\.[0-9A-Fa-f]{16}$/.test(name)) p.push('an eui. name is "eui." followed by 16 hex digits');
    return p;
  }
  if (name.startsWith('naa.')) {
    if (!/^naa\.([0-9A-Fa-f]{16}|[0-9A-Fa-f]{32})$/.test(name)) p.push('a naa. name is "naa." followed by 16 or 32 hex digits');
    return p;
  }
  if (!name.startsWith('iqn.')) return [...p, 'must start with iqn., eui. or naa.'];
  if (/[A-Z]/.test(name)) p.push('must be lower case (stringprep-normalised)');
  if (/[^a-z0-9.:-]/i.test(name)) p.push('may contain only a-z 0-9 - . :');
  const m = /^iqn\.(\d{4})-(\d{2})\.([^:]*)(?::(.*))?$/i.exec(name);
  if (!m) return [...p, 'must be iqn.yyyy-mm.<reversed domain>[:<unique>]'];
  const month = Number(m[2]);
  if (month < 1 || month > 12) p.push(`month ${m[2]} is not 01-12`);
  const domain = m[3]!;
  const labels = domain.split('.');
  if (domain === '' || labels.some((l) => !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i.test(l)))
    p.push('the naming authority must be a reversed domain name (labels of a-z 0-9 -, not starting or ending with -)');
  if (m[4] !== undefined && m[4] === '') p.push('nothing follows the ":"');
  return p;
}
