// The iSCSI names netroot generates for its nodes (target and initiator IQNs), and assertIqn: the
// strict check (src/validate/iscsi-name.ts validateIqn) as a storage error naming the field.
import { UserError } from '../errors.js';
import { validateIqn } from '../validate/iscsi-name.js';

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
