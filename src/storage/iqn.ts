// iSCSI names (RFC 3720 §3.2.6, unchanged in RFC 7143 §4.2.7): "iqn." yyyy-mm "." reversed domain
// [":" anything], or "eui." + 16 hex digits, or "naa." + 16/32 hex digits (RFC 3980).
// Names are compared after stringprep (RFC 3722), which lower-cases; we only produce and accept
// the already-normalised ASCII form: a-z 0-9 '-' '.' ':', at most 223 bytes.
import { UserError } from '../errors.js';

export const MAX_ISCSI_NAME = 223;

/** Problems with an iSCSI name; empty when valid. */
export function validateIqn(name: string): string[] {
  const p: string[] = [];
  if (typeof name !== 'string' || name.length === 0) return ['is empty'];
  if (Buffer.byteLength(name, 'utf8') > MAX_ISCSI_NAME) p.push(`is longer than ${MAX_ISCSI_NAME} bytes`);
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

export function assertIqn(name: string, what = 'IQN'): string {
  const p = validateIqn(name);
  if (p.length) throw new UserError('E_STORAGE_BAD_IQN', `${what} ${JSON.stringify(name)}: ${p.join('; ')}`);
  return name;
}

export interface IqnNaming {
  /** yyyy-mm: a month in which the naming authority owned the domain. */
  iqnDate: string;
  /** e.g. netroot.local → iqn.<date>.local.netroot */
  iqnDomain: string;
}

const hostRe = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

function base(n: IqnNaming): string {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(n.iqnDate)) throw new UserError('E_STORAGE_BAD_IQN', `iqnDate ${JSON.stringify(n.iqnDate)} is not yyyy-mm`);
  const labels = n.iqnDomain.toLowerCase().split('.');
  if (labels.some((l) => !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(l)))
    throw new UserError('E_STORAGE_BAD_IQN', `iqnDomain ${JSON.stringify(n.iqnDomain)} is not a domain name`);
  return `iqn.${n.iqnDate}.${labels.reverse().join('.')}`;
}

function hostPart(host: string): string {
  const h = host.toLowerCase();
  if (!hostRe.test(h)) throw new UserError('E_STORAGE_BAD_IQN', `host name ${JSON.stringify(host)} cannot be part of an IQN`);
  return h;
}

/** The target IQN for a node's volume: iqn.<yyyy-mm>.<reversed domain>:<host>. */
export function targetIqnFor(n: IqnNaming, host: string): string {
  return assertIqn(`${base(n)}:${hostPart(host)}`, 'target IQN');
}

/** The node's own initiator IQN: iqn.<yyyy-mm>.<reversed domain>:initiator.<host> (never equal to a target IQN). */
export function initiatorIqnFor(n: IqnNaming, host: string): string {
  return assertIqn(`${base(n)}:initiator.${hostPart(host)}`, 'initiator IQN');
}
