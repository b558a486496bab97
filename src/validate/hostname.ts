// Host names, the two kinds netroot checks (one place; every folder imports them from here):
//  - a node's name, Rocks style: one lower-case DNS label (RFC 1123 §2.1: letters, digits and '-',
//    not first or last, at most 63), e.g. compute-0-1. It becomes a file name, a target IQN's unique
//    part and a DNS record, so upper case (DNS would fold it) and dots are refused;
//  - a DNS name on a kernel command line or in a config (a storage portal, a frontend): labels of
//    letters, digits and '-' joined by dots, at most 253 characters, any case.

import { UserError } from '../errors.js';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A node name: one lower-case RFC 1123 label. */
export function isNodeName(name: string): boolean {
  return LABEL.test(name);
}

/** A DNS name: one or more labels, any case, ≤ 253 characters (an all-numeric one reads like an
 * address: callers that take either decide which it is). */
export function isDnsName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => DNS_LABEL.test(l));
}

/** The node name, or E_BAD_HOSTNAME naming the field it came in. */
export function validHostname(name: string, where = 'name'): string {
  if (!isNodeName(name))
    throw new UserError('E_BAD_HOSTNAME', `not a valid host name: ${JSON.stringify(name)} (lower-case letters, digits and '-', at most 63)`, { where });
  return name;
}
