// The sync payload (version 1) and the envelope that carries its signature. Pure: no file, no socket.
//
// A line format, not JSON: the node-side client (node/netroot-sync.sh) reads it with POSIX sh, sed and
// awk on a Debian root that has no JSON tool. Every line ends with "\n"; no line holds a control
// character other than TAB (no CR, no NUL). Sections come in this order, each announcing its line
// count, so a truncated payload is detected at its end:
//
//   netroot-sync 1                  magic and version
//   serial <n>                      1 .. 2^53-1, decimal, no leading zero; strictly increasing per frontend
//   created <YYYY-MM-DDTHH:MM:SSZ>  when the frontend built it (UTC)
//   uid-range <min> <max>           the UID/GID range the account sections replace on a node
//   passwd <count>                  then <count> passwd(5) lines, every UID in the range
//   group <count>                   group(5) lines, every GID in the range
//   shadow <count>                  shadow(5) lines, each for a user of the passwd section
//   hosts <count>                   hosts(5) lines (the frontend's <stateDir>/hosts)
//   munge-key <count>               the munge key, base64 in lines of at most 76 characters (0: none)
//   end
//
// The envelope is what the frontend stores and serves: two header lines, then the payload bytes as
// signed (Ed25519 over exactly those bytes, RFC 8032 "pure" Ed25519):
//
//   netroot-sync-envelope 1
//   signature ed25519 <base64 of the 64-byte signature>
//   <payload>
import { DecodeError } from '../errors.js';

export const PAYLOAD_MAGIC = 'netroot-sync 1';
export const ENVELOPE_MAGIC = 'netroot-sync-envelope 1';
export const MAX_SERIAL = Number.MAX_SAFE_INTEGER;
/** munged refuses keys under 32 bytes; mungekey(8) writes 1024. */
export const MUNGE_KEY_MIN_BYTES = 32;
export const MUNGE_KEY_MAX_BYTES = 16 * 1024;

export interface SyncPayload {
  serial: number;
  /** ISO 8601 UTC, seconds precision: 2026-12-05T22:00:00Z. */
  created: string;
  minUid: number;
  maxUid: number;
  passwd: string[];
  group: string[];
  shadow: string[];
  hosts: string[];
  /** The munge key's bytes, or null when the payload carries none. */
  mungeKey: Buffer | null;
}

const NAME = /^[a-z_][a-z0-9_.-]{0,31}\$?$/;
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;
const CREATED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
// Any character but the C0 controls other than TAB, and DEL.
const LINE_OK = /^[^\x00-\x08\x0a-\x1f\x7f]*$/;
const B64_LINE = /^[A-Za-z0-9+/]{1,76}={0,2}$/;

function bad(field: string, offset: number, message: string): DecodeError {
  return new DecodeError('E_SYNC_PAYLOAD', field, offset, message);
}

/** A whole decimal within [min, max], or null. */
function decimal(s: string | undefined, min: number, max: number): number | null {
  if (s === undefined || !DECIMAL.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : null;
}

/** Checks a payload's fields the way parsePayload does (what the encoder refuses, the parser would too). */
export function checkPayload(p: SyncPayload): void {
  const lines = (field: string, list: string[]) => {
    list.forEach((l, i) => {
      if (!LINE_OK.test(l)) throw bad(`${field}[${i}]`, 0, 'a line holds a control character');
    });
  };
  if (!Number.isSafeInteger(p.serial) || p.serial < 1) throw bad('serial', 0, 'must be a whole number from 1 to 2^53-1');
  if (!CREATED.test(p.created)) throw bad('created', 0, 'must be YYYY-MM-DDTHH:MM:SSZ');
  if (!Number.isSafeInteger(p.minUid) || !Number.isSafeInteger(p.maxUid) || p.minUid < 1 || p.maxUid < p.minUid || p.maxUid > 4294967294)
    throw bad('uid-range', 0, 'must be 1 <= min <= max <= 4294967294');
  for (const [f, l] of [
    ['passwd', p.passwd],
    ['group', p.group],
    ['shadow', p.shadow],
    ['hosts', p.hosts],
  ] as const)
    lines(f, l);
  checkAccounts(p, 0);
  if (p.mungeKey !== null && (p.mungeKey.length < MUNGE_KEY_MIN_BYTES || p.mungeKey.length > MUNGE_KEY_MAX_BYTES))
    throw bad('munge-key', 0, `a munge key is ${MUNGE_KEY_MIN_BYTES} to ${MUNGE_KEY_MAX_BYTES} bytes`);
}

/** passwd: 7 fields, UID and GID decimal, UID in range, names unique; group: 4 fields, GID in range; shadow: 9 fields, a passwd user. */
function checkAccounts(p: Pick<SyncPayload, 'minUid' | 'maxUid' | 'passwd' | 'group' | 'shadow'>, offset: number): void {
  const users = new Set<string>();
  p.passwd.forEach((l, i) => {
    const f = l.split(':');
    const where = `passwd[${i}]`;
    if (f.length !== 7) throw bad(where, offset, `a passwd line has 7 fields, this one ${f.length}`);
    if (!NAME.test(f[0]!)) throw bad(where, offset, 'not a valid user name');
    const uid = decimal(f[2], 0, 4294967294);
    if (uid === null || decimal(f[3], 0, 4294967294) === null) throw bad(where, offset, 'UID and GID must be whole numbers');
    if (uid < p.minUid || uid > p.maxUid) throw bad(where, offset, `UID ${uid} is outside the range ${p.minUid}-${p.maxUid}`);
    if (users.has(f[0]!)) throw bad(where, offset, `user ${f[0]} appears twice`);
    users.add(f[0]!);
  });
  const groups = new Set<string>();
  p.group.forEach((l, i) => {
    const f = l.split(':');
    const where = `group[${i}]`;
    if (f.length !== 4) throw bad(where, offset, `a group line has 4 fields, this one ${f.length}`);
    if (!NAME.test(f[0]!)) throw bad(where, offset, 'not a valid group name');
    const gid = decimal(f[2], 0, 4294967294);
    if (gid === null) throw bad(where, offset, 'GID must be a whole number');
    if (gid < p.minUid || gid > p.maxUid) throw bad(where, offset, `GID ${gid} is outside the range ${p.minUid}-${p.maxUid}`);
    if (groups.has(f[0]!)) throw bad(where, offset, `group ${f[0]} appears twice`);
    groups.add(f[0]!);
  });
  const shadowed = new Set<string>();
  p.shadow.forEach((l, i) => {
    const f = l.split(':');
    const where = `shadow[${i}]`;
    if (f.length !== 9) throw bad(where, offset, `a shadow line has 9 fields, this one ${f.length}`);
    if (!users.has(f[0]!)) throw bad(where, offset, `shadow entry for ${JSON.stringify(f[0])}, which is not in the passwd section`);
    if (shadowed.has(f[0]!)) throw bad(where, offset, `user ${f[0]} appears twice`);
    shadowed.add(f[0]!);
  });
}

function b64Lines(key: Buffer): string[] {
  const s = key.toString('base64');
  const out: string[] = [];
  for (let i = 0; i < s.length; i += 76) out.push(s.slice(i, i + 76));
  return out;
}

/** The payload's bytes (what is signed). Throws E_SYNC_PAYLOAD for a field parsePayload would refuse. */
export function encodePayload(p: SyncPayload): Buffer {
  checkPayload(p);
  const munge = p.mungeKey ? b64Lines(p.mungeKey) : [];
  const out = [
    PAYLOAD_MAGIC,
    `serial ${p.serial}`,
    `created ${p.created}`,
    `uid-range ${p.minUid} ${p.maxUid}`,
    `passwd ${p.passwd.length}`,
    ...p.passwd,
    `group ${p.group.length}`,
    ...p.group,
    `shadow ${p.shadow.length}`,
    ...p.shadow,
    `hosts ${p.hosts.length}`,
    ...p.hosts,
    `munge-key ${munge.length}`,
    ...munge,
    'end',
  ];
  return Buffer.from(out.join('\n') + '\n', 'utf8');
}

/** Splits bytes into lines, each with its byte offset; refuses a missing final newline and control characters. */
function splitLines(buf: Buffer, field: string): { text: string; offset: number }[] {
  if (buf.length === 0) throw bad(field, 0, 'empty');
  if (buf[buf.length - 1] !== 0x0a) throw bad(field, buf.length, 'truncated: the last line has no newline');
  const text = buf.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(buf)) throw bad(field, 0, 'not valid UTF-8');
  const out: { text: string; offset: number }[] = [];
  let at = 0;
  let offset = 0;
  while (at < text.length) {
    const nl = text.indexOf('\n', at);
    const line = text.slice(at, nl);
    if (!LINE_OK.test(line)) throw bad(field, offset, 'a line holds a control character');
    out.push({ text: line, offset });
    offset += Buffer.byteLength(line, 'utf8') + 1;
    at = nl + 1;
  }
  return out;
}

export interface ParseLimits {
  /** Largest payload (or envelope) accepted, bytes. */
  maxBytes: number;
}

/** Parses payload bytes (bounds-checked: every count against the lines left; a bad field names its byte offset). */
export function parsePayload(buf: Buffer, limits: ParseLimits): SyncPayload {
  if (buf.length > limits.maxBytes) throw bad('payload', limits.maxBytes, `larger than ${limits.maxBytes} bytes`);
  const lines = splitLines(buf, 'payload');
  let i = 0;
  const next = (field: string): { text: string; offset: number } => {
    const l = lines[i];
    if (!l) throw bad(field, buf.length, 'truncated');
    i++;
    return l;
  };
  const keyed = (key: string): { value: string; offset: number } => {
    const l = next(key);
    if (!l.text.startsWith(`${key} `)) throw bad(key, l.offset, `expected "${key} ..."`);
    return { value: l.text.slice(key.length + 1), offset: l.offset };
  };
  const magic = next('magic');
  if (magic.text !== PAYLOAD_MAGIC) {
    if (/^netroot-sync \d+$/.test(magic.text)) throw bad('version', 0, `unsupported payload version ${magic.text.slice(13)} (this frontend reads 1)`);
    throw bad('magic', 0, 'not a netroot sync payload');
  }
  const s = keyed('serial');
  const serial = decimal(s.value, 1, MAX_SERIAL);
  if (serial === null) throw bad('serial', s.offset, 'must be a whole number from 1 to 2^53-1');
  const c = keyed('created');
  if (!CREATED.test(c.value) || Number.isNaN(Date.parse(c.value))) throw bad('created', c.offset, 'must be YYYY-MM-DDTHH:MM:SSZ');
  const r = keyed('uid-range');
  const [lo, hi, ...more] = r.value.split(' ');
  const minUid = decimal(lo, 1, 4294967294);
  const maxUid = decimal(hi, 1, 4294967294);
  if (minUid === null || maxUid === null || more.length > 0 || maxUid < minUid) throw bad('uid-range', r.offset, 'must be "<min> <max>" with 1 <= min <= max');
  const section = (key: string): string[] => {
    const h = keyed(key);
    const n = decimal(h.value, 0, lines.length);
    if (n === null) throw bad(key, h.offset, 'bad line count');
    if (i + n > lines.length) throw bad(key, buf.length, `truncated: ${n} lines announced, ${lines.length - i} left`);
    const out = lines.slice(i, i + n).map((l) => l.text);
    i += n;
    return out;
  };
  const passwd = section('passwd');
  const group = section('group');
  const shadow = section('shadow');
  const hosts = section('hosts');
  const mungeAt = lines[i]?.offset ?? buf.length;
  const munge = section('munge-key');
  let mungeKey: Buffer | null = null;
  if (munge.length > 0) {
    if (!munge.every((l) => B64_LINE.test(l))) throw bad('munge-key', mungeAt, 'not base64');
    mungeKey = Buffer.from(munge.join(''), 'base64');
    if (mungeKey.length < MUNGE_KEY_MIN_BYTES || mungeKey.length > MUNGE_KEY_MAX_BYTES)
      throw bad('munge-key', mungeAt, `a munge key is ${MUNGE_KEY_MIN_BYTES} to ${MUNGE_KEY_MAX_BYTES} bytes`);
  }
  const end = next('end');
  if (end.text !== 'end') throw bad('end', end.offset, 'expected "end"');
  if (i !== lines.length) throw bad('end', lines[i]!.offset, 'bytes after "end"');
  const p: SyncPayload = { serial, created: c.value, minUid, maxUid, passwd, group, shadow, hosts, mungeKey };
  checkAccounts(p, r.offset);
  return p;
}

export interface Envelope {
  signature: Buffer;
  /** The payload bytes exactly as signed. */
  payload: Buffer;
}

export function encodeEnvelope(payload: Buffer, signature: Buffer): Buffer {
  if (signature.length !== 64) throw bad('signature', 0, 'an Ed25519 signature is 64 bytes');
  return Buffer.concat([Buffer.from(`${ENVELOPE_MAGIC}\nsignature ed25519 ${signature.toString('base64')}\n`, 'ascii'), payload]);
}

/** Splits an envelope into signature and payload bytes (the payload is not parsed: verify first). */
export function parseEnvelope(buf: Buffer, limits: ParseLimits): Envelope {
  if (buf.length > limits.maxBytes) throw bad('envelope', limits.maxBytes, `larger than ${limits.maxBytes} bytes`);
  const nl1 = buf.indexOf(0x0a);
  if (nl1 < 0) throw bad('envelope', buf.length, 'truncated');
  const magic = buf.subarray(0, nl1).toString('latin1');
  if (magic !== ENVELOPE_MAGIC) {
    if (/^netroot-sync-envelope \d+$/.test(magic)) throw bad('version', 0, `unsupported envelope version ${magic.slice(22)} (this reads 1)`);
    throw bad('magic', 0, 'not a netroot sync envelope');
  }
  const nl2 = buf.indexOf(0x0a, nl1 + 1);
  if (nl2 < 0) throw bad('signature', buf.length, 'truncated');
  const sigLine = buf.subarray(nl1 + 1, nl2).toString('latin1');
  const m = /^signature ed25519 ([A-Za-z0-9+/]{86}==)$/.exec(sigLine);
  if (!m) throw bad('signature', nl1 + 1, 'expected "signature ed25519 <base64 of 64 bytes>"');
  return { signature: Buffer.from(m[1]!, 'base64'), payload: buf.subarray(nl2 + 1) };
}
