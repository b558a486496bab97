// iSCSI text keys (RFC 7143 §6, §13): `key=value` pairs, each NUL-terminated, carried in
// Login and Text PDUs, plus the operational-parameter negotiation the target performs.
import { DecodeError } from '../errors.js';

/** Parsed pairs in arrival order. Keys are case-sensitive (§6.1). */
export type TextPairs = Array<[string, string]>;

const KEY_RE = /^[A-Za-z0-9.\-+@_]{1,63}$/;
/** §6.1: values are at most 255 bytes except for a few keys (and binary CHAP values). */
const MAX_VALUE = 8192;

/** Parse a complete text data segment (continuations already joined). Throws DecodeError. */
export function parseTextKeys(data: Buffer): TextPairs {
  const out: TextPairs = [];
  const seen = new Set<string>();
  let pos = 0;
  while (pos < data.length) {
    let nul = data.indexOf(0, pos);
    // A last pair without its NUL is tolerated: some initiators omit it; the padding is zeros.
    if (nul < 0) nul = data.length;
    if (nul === pos) {
      pos++; // stray NULs (e.g. padding that was counted in the length)
      continue;
    }
    const s = data.toString('utf8', pos, nul);
    const eq = s.indexOf('=');
    if (eq <= 0) throw new DecodeError('E_ISCSI_TEXT', 'text key', pos, `no "=" in "${s.slice(0, 40)}"`);
    const key = s.slice(0, eq);
    const value = s.slice(eq + 1);
    if (!KEY_RE.test(key)) throw new DecodeError('E_ISCSI_TEXT', 'text key', pos, `bad key name "${key.slice(0, 40)}"`);
    if (value.length > MAX_VALUE) throw new DecodeError('E_ISCSI_TEXT', key, pos, `value longer than ${MAX_VALUE}`);
    if (seen.has(key)) throw new DecodeError('E_ISCSI_TEXT', key, pos, 'key sent twice');
    seen.add(key);
    out.push([key, value]);
    pos = nul + 1;
  }
  return out;
}

export function encodeTextKeys(pairs: TextPairs): Buffer {
  if (pairs.length === 0) return Buffer.alloc(0);
  return Buffer.from(pairs.map(([k, v]) => `${k}=${v}\0`).join(''), 'utf8');
}

/** Numbers: decimal, or 0x-prefixed hex (§6.1.2 numerical values). Returns NaN when invalid. */
export function parseNumber(v: string): number {
  if (/^0[xX][0-9a-fA-F]{1,16}$/.test(v)) return Number.parseInt(v.slice(2), 16);
  if (/^[0-9]{1,20}$/.test(v)) return Number.parseInt(v, 10);
  return Number.NaN;
}

/** Binary values (§6.1.1): 0x hex or 0b base64. Returns undefined when malformed. */
export function parseBinary(v: string): Buffer | undefined {
  if (/^0[xX]([0-9a-fA-F]{2})+$/.test(v)) return Buffer.from(v.slice(2), 'hex');
  if (/^0[xX][0-9a-fA-F]+$/.test(v)) return Buffer.from('0' + v.slice(2), 'hex'); // odd digit count
  if (/^0[bB][A-Za-z0-9+/]+={0,2}$/.test(v)) return Buffer.from(v.slice(2), 'base64');
  return undefined;
}

/** Session and connection parameters after negotiation (defaults from §13). */
export interface NegotiatedParams {
  headerDigest: boolean;
  dataDigest: boolean;
  maxConnections: number;
  initialR2T: boolean;
  immediateData: boolean;
  /** What the initiator can receive: bounds our Data-In, Text and NOP-In data segments. */
  initiatorMaxRecvDataSegmentLength: number;
  /** What we declared we can receive. */
  targetMaxRecvDataSegmentLength: number;
  maxBurstLength: number;
  firstBurstLength: number;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  maxOutstandingR2T: number;
  dataPduInOrder: boolean;
  dataSequenceInOrder: boolean;
  errorRecoveryLevel: number;
}

export function defaultParams(): NegotiatedParams {
  return {
    headerDigest: false,
    dataDigest: false,
    maxConnections: 1,
    initialR2T: true,
    immediateData: true,
    initiatorMaxRecvDataSegmentLength: 8192,
    targetMaxRecvDataSegmentLength: 8192,
    maxBurstLength: 262144,
    firstBurstLength: 65536,
    defaultTime2Wait: 2,
    defaultTime2Retain: 20,
    maxOutstandingR2T: 1,
    dataPduInOrder: true,
    dataSequenceInOrder: true,
    errorRecoveryLevel: 0,
  };
}

/** What this target is willing to do (REFERENCE.md §6 decides the defaults). */
export interface TargetLimits {
  maxRecvDataSegmentLength: number; // ≥ 262144
  maxBurstLength: number; // ≥ 1 MiB
  firstBurstLength: number; // 262144
  maxOutstandingR2T: number; // > 1
  initialR2T: boolean; // false: accept unsolicited data
  immediateData: boolean; // true
  allowDigests: boolean;
}

export const DEFAULT_LIMITS: TargetLimits = {
  maxRecvDataSegmentLength: 262144,
  maxBurstLength: 16776192,
  firstBurstLength: 262144,
  maxOutstandingR2T: 8,
  initialR2T: false,
  immediateData: true,
  allowDigests: true,
};

/** Keys handled by the login layer itself, not by operational negotiation. */
const LOGIN_KEYS = new Set(['InitiatorName', 'InitiatorAlias', 'TargetName', 'SessionType', 'AuthMethod', 'CHAP_A', 'CHAP_I', 'CHAP_C', 'CHAP_N', 'CHAP_R']);

/** Keys that only make sense in a normal session (§13: "Irrelevant" in discovery). */
const NORMAL_ONLY = new Set([
  'MaxConnections',
  'InitialR2T',
  'ImmediateData',
  'MaxBurstLength',
  'FirstBurstLength',
  'MaxOutstandingR2T',
  'DataPDUInOrder',
  'DataSequenceInOrder',
]);

export class NegotiationError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
  }
}

function yesNo(v: string, key: string): boolean {
  if (v === 'Yes') return true;
  if (v === 'No') return false;
  throw new NegotiationError(key, `not Yes/No: "${v}"`);
}
function num(v: string, key: string, min: number, max: number): number {
  const n = parseNumber(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new NegotiationError(key, `"${v}" not in ${min}..${max}`);
  return n;
}
function pickDigest(v: string, allow: boolean): 'None' | 'CRC32C' | undefined {
  for (const item of v.split(',')) {
    if (item === 'None') return 'None';
    if (item === 'CRC32C' && allow) return 'CRC32C';
  }
  return undefined;
}

/**
 * Answer the operational keys in `offers` (the initiator's proposals of one login or text
 * request), updating `params`. Returns the reply pairs. Unknown keys get NotUnderstood (§6.2);
 * keys irrelevant to a discovery session get Irrelevant; a value out of range throws
 * NegotiationError (the login fails with status 0x0207 "initiator error").
 */
export function negotiate(
  offers: TextPairs,
  params: NegotiatedParams,
  limits: TargetLimits,
  sessionType: 'Normal' | 'Discovery',
  declared: { mrdsl: boolean },
): TextPairs {
  const reply: TextPairs = [];
  for (const [key, value] of offers) {
    if (LOGIN_KEYS.has(key)) continue;
    if (sessionType === 'Discovery' && NORMAL_ONLY.has(key)) {
      reply.push([key, 'Irrelevant']);
      continue;
    }
    switch (key) {
      case 'HeaderDigest':
      case 'DataDigest': {
        const pick = pickDigest(value, limits.allowDigests);
        if (!pick) {
          reply.push([key, 'Reject']);
          break;
        }
        if (key === 'HeaderDigest') params.headerDigest = pick === 'CRC32C';
        else params.dataDigest = pick === 'CRC32C';
        reply.push([key, pick]);
        break;
      }
      case 'MaxRecvDataSegmentLength':
        // Declarative (§13.12): what the initiator can receive. We declare ours in return.
        params.initiatorMaxRecvDataSegmentLength = num(value, key, 512, 16777215);
        if (!declared.mrdsl) {
          reply.push([key, String(limits.maxRecvDataSegmentLength)]);
          declared.mrdsl = true;
        }
        params.targetMaxRecvDataSegmentLength = limits.maxRecvDataSegmentLength;
        break;
      case 'MaxConnections':
        params.maxConnections = Math.min(num(value, key, 1, 65535), 1);
        reply.push([key, String(params.maxConnections)]);
        break;
      case 'InitialR2T':
        // OR function (§13.10): Yes wins.
        params.initialR2T = yesNo(value, key) || limits.initialR2T;
        reply.push([key, params.initialR2T ? 'Yes' : 'No']);
        break;
      case 'ImmediateData':
        params.immediateData = yesNo(value, key) && limits.immediateData;
        reply.push([key, params.immediateData ? 'Yes' : 'No']);
        break;
      case 'MaxBurstLength':
        params.maxBurstLength = Math.min(num(value, key, 512, 16777215), limits.maxBurstLength);
        reply.push([key, String(params.maxBurstLength)]);
        break;
      case 'FirstBurstLength':
        params.firstBurstLength = Math.min(num(value, key, 512, 16777215), limits.firstBurstLength);
        reply.push([key, String(params.firstBurstLength)]);
        break;
      case 'MaxOutstandingR2T':
        params.maxOutstandingR2T = Math.min(num(value, key, 1, 65535), limits.maxOutstandingR2T);
        reply.push([key, String(params.maxOutstandingR2T)]);
        break;
      case 'DataPDUInOrder':
        params.dataPduInOrder = true; // OR with our Yes
        yesNo(value, key);
        reply.push([key, 'Yes']);
        break;
      case 'DataSequenceInOrder':
        params.dataSequenceInOrder = true;
        yesNo(value, key);
        reply.push([key, 'Yes']);
        break;
      case 'DefaultTime2Wait':
        params.defaultTime2Wait = Math.max(num(value, key, 0, 3600), 2);
        reply.push([key, String(params.defaultTime2Wait)]);
        break;
      case 'DefaultTime2Retain':
        params.defaultTime2Retain = Math.min(num(value, key, 0, 3600), 20);
        reply.push([key, String(params.defaultTime2Retain)]);
        break;
      case 'ErrorRecoveryLevel':
        num(value, key, 0, 2);
        params.errorRecoveryLevel = 0; // min with our 0: no PDU/connection recovery
        reply.push([key, '0']);
        break;
      case 'IFMarker':
      case 'OFMarker':
        yesNo(value, key);
        reply.push([key, 'No']); // AND with our No (markers are gone in RFC 7143)
        break;
      case 'IFMarkInt':
      case 'OFMarkInt':
        reply.push([key, 'Irrelevant']);
        break;
      case 'iSCSIProtocolLevel':
        reply.push([key, String(Math.min(num(value, key, 0, 31), 1))]);
        break;
      case 'TaskReporting':
        reply.push([key, 'RFC3720']);
        break;
      default:
        reply.push([key, 'NotUnderstood']);
    }
  }
  if (params.firstBurstLength > params.maxBurstLength) params.firstBurstLength = params.maxBurstLength;
  return reply;
}
