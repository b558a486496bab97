// Validation of a BMC entry (REST `PUT /api/v1/hosts/{name}/bmc`, `netroot host bmc set`): every
// problem is E_BMC_BAD naming the field; the secret's value is never in a message.
import { UserError } from '../errors.js';
import { parseIPv4 } from '../net/address.js';
import { isDnsName } from '../validate/hostname.js';
import { MASK } from '../log/secret-values.js';
import { POWER_DRIVERS, type BmcEntry, type PowerDriverName } from './types.js';

/** Longest user name and secret accepted (IPMI 2.0 allows 16 and 20 bytes; Redfish BMCs more). */
export const BMC_MAX_USER = 64;
export const BMC_MAX_SECRET = 256;
export const BMC_MAX_SYSTEM_ID = 128;

export interface BmcInput {
  driver: string;
  address: string;
  port?: number | null | undefined;
  user: string;
  secret: string;
  insecureTls?: boolean | undefined;
  systemId?: string | null | undefined;
}

const PRINTABLE = /^[\x20-\x7e]*$/;

function bad(where: string, message: string): UserError {
  return new UserError('E_BMC_BAD', message, { where });
}

/** The checked entry for `host`; throws E_BMC_BAD (exit 2, HTTP 400) naming the first bad field. */
export function validBmcEntry(host: string, b: BmcInput): BmcEntry {
  if (!(POWER_DRIVERS as readonly string[]).includes(b.driver))
    throw bad('driver', `must be one of ${POWER_DRIVERS.join(', ')}, not ${JSON.stringify(b.driver)}`);
  const address = b.address;
  if (typeof address !== 'string' || (parseIPv4(address) === null && (!isDnsName(address) || /^[0-9.]+$/.test(address))))
    throw bad('address', `must be an IPv4 address or a DNS name, not ${JSON.stringify(String(address).slice(0, 300))}`);
  const port = b.port ?? null;
  if (port !== null && (!Number.isInteger(port) || port < 1 || port > 65535)) throw bad('port', `must be a whole number from 1 to 65535, not ${port}`);
  if (typeof b.user !== 'string' || b.user.length < 1 || b.user.length > BMC_MAX_USER || !PRINTABLE.test(b.user))
    throw bad('user', `must be 1 to ${BMC_MAX_USER} printable ASCII characters`);
  if (typeof b.secret !== 'string' || b.secret.length < 1 || b.secret.length > BMC_MAX_SECRET || !PRINTABLE.test(b.secret))
    throw bad('secret', `must be 1 to ${BMC_MAX_SECRET} printable ASCII characters (its value is not shown)`);
  const systemId = b.systemId ?? null;
  if (systemId !== null && (systemId.length < 1 || systemId.length > BMC_MAX_SYSTEM_ID || !/^[A-Za-z0-9._~-]+$/.test(systemId)))
    throw bad('systemId', `must be 1 to ${BMC_MAX_SYSTEM_ID} URL-safe characters (letters, digits, . _ ~ -)`);
  // IPMI 2.0 §22.27/§22.28: user names are at most 16 bytes, passwords at most 20 (ipmitool refuses longer).
  if (b.driver === 'ipmi' && b.user.length > 16) throw bad('user', 'must be at most 16 characters for IPMI');
  if (b.driver === 'ipmi' && b.secret.length > 20) throw bad('secret', 'must be at most 20 characters for IPMI (its value is not shown)');
  if (b.driver === 'ipmi' && (b.insecureTls || systemId !== null)) throw bad(b.insecureTls ? 'insecureTls' : 'systemId', 'applies to the redfish driver only');
  return {
    host,
    driver: b.driver as PowerDriverName,
    address,
    port,
    user: b.user,
    secret: b.secret,
    insecureTls: b.insecureTls ?? false,
    systemId,
  };
}

/** The entry as every answer shows it: the secret as the CHAP secret reads (log/secret-values.ts MASK). */
export function maskedBmc(b: BmcEntry): BmcEntry {
  return { ...b, secret: MASK };
}
