// Parameter checks for RPC methods: each failure is a UserError E_RPC_BAD_PARAMS, which the
// dispatcher answers with fault -32602 naming the parameter (never echoing its value).
import { UserError } from '../errors.js';
import type { XmlRpcValue } from './types.js';

export const E_RPC_BAD_PARAMS = 'E_RPC_BAD_PARAMS';

export type XmlRpcStruct = { [k: string]: XmlRpcValue };

function bad(message: string): UserError {
  return new UserError(E_RPC_BAD_PARAMS, message);
}

/** Checks the number of params: exactly `min` when `max` is omitted. */
export function expectArity(params: readonly XmlRpcValue[], min: number, max = min): void {
  if (params.length < min || params.length > max) {
    const want = min === max ? `${min}` : `${min} to ${max}`;
    throw bad(`expected ${want} parameter${max === 1 ? '' : 's'}, got ${params.length}`);
  }
}

function typeName(v: XmlRpcValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'nil';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'dateTime';
  if (Buffer.isBuffer(v)) return 'base64';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'double';
  return typeof v === 'object' ? 'struct' : typeof v;
}

export function stringParam(params: readonly XmlRpcValue[], i: number, name: string, opts: { maxLength?: number; pattern?: RegExp } = {}): string {
  const v = params[i];
  if (typeof v !== 'string') throw bad(`parameter ${i + 1} (${name}) must be a string, got ${typeName(v)}`);
  if (v.length > (opts.maxLength ?? 4096)) throw bad(`parameter ${i + 1} (${name}) is longer than ${opts.maxLength ?? 4096} characters`);
  if (opts.pattern && !opts.pattern.test(v)) throw bad(`parameter ${i + 1} (${name}) has an invalid format`);
  return v;
}

export function intParam(params: readonly XmlRpcValue[], i: number, name: string, opts: { min?: number; max?: number } = {}): number {
  const v = params[i];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(`parameter ${i + 1} (${name}) must be an int, got ${typeName(v)}`);
  if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
    throw bad(`parameter ${i + 1} (${name}) must be within ${opts.min ?? '-∞'}..${opts.max ?? '∞'}`);
  }
  return v;
}

export function booleanParam(params: readonly XmlRpcValue[], i: number, name: string): boolean {
  const v = params[i];
  if (typeof v !== 'boolean') throw bad(`parameter ${i + 1} (${name}) must be a boolean, got ${typeName(v)}`);
  return v;
}

export function structParam(params: readonly XmlRpcValue[], i: number, name: string): XmlRpcStruct {
  const v = params[i];
  if (typeName(v) !== 'struct') throw bad(`parameter ${i + 1} (${name}) must be a struct, got ${typeName(v)}`);
  return v as XmlRpcStruct;
}

export function arrayParam(params: readonly XmlRpcValue[], i: number, name: string): XmlRpcValue[] {
  const v = params[i];
  if (!Array.isArray(v)) throw bad(`parameter ${i + 1} (${name}) must be an array, got ${typeName(v)}`);
  return v;
}
