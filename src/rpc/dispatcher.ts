// Method table + request handling for XML-RPC. No transport: the HTTP layer hands the raw body
// and the peer address to handle() and sends back the string it returns (always a complete,
// valid methodResponse — a result or a fault; handle() never rejects).
//
// Fault policy (what a client may learn):
//   malformed document         → -32700 with the parser's message (positions, no input echo beyond 60 chars)
//   unknown method             → -32601
//   E_RPC_BAD_PARAMS           → -32602 with the message
//   other UserError            → -32500 "<code>: <message>" — these messages are written for operators
//   anything else              → -32603 "internal error" only; the error itself goes to the logger
// Fault strings never carry a stack or a cause, are cut to 512 characters, and values after
// secret-like words (secret=, password: ...) are replaced by [redacted] as a second line of defence.
import { isNetrootError } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { E_XMLRPC_MALFORMED, parseMethodCall, serializeFault, serializeResponse } from './codec.js';
import { E_RPC_BAD_PARAMS, expectArity, stringParam } from './params.js';
import { FaultCode, type XmlRpcLimits, type XmlRpcValue } from './types.js';

export interface RpcContext {
  /** The peer's address as the transport saw it (e.g. "10.1.255.254"). */
  remoteAddress: string;
}

export type RpcMethod = (params: XmlRpcValue[], ctx: RpcContext) => Promise<XmlRpcValue>;

/** The machine behind a peer address (host name, MAC), for the call's log line only. */
export type RpcIdentify = (address: string) => Promise<{ host: string; mac: string | null } | null>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** `secret=x`, `password: "x y"`, `chap_secret='x'`… — only key=value / key: value forms, so prose such as "install token was already used" stays intact. */
const SECRETISH = /\b((?:chap[_-]?)?secret|password|passwd|token)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;]+)/gi;
const MAX_FAULT = 512;

/** Makes an error message fit for a fault string. */
export function faultText(message: string): string {
  const oneLine = message.split('\n    at ')[0] ?? '';
  const redacted = oneLine.replace(SECRETISH, (_m, word: string, sep: string) => `${word}${sep}[redacted]`);
  return redacted.length > MAX_FAULT ? `${redacted.slice(0, MAX_FAULT - 1)}…` : redacted;
}

interface Entry {
  fn: RpcMethod;
  help: string;
}

export class RpcDispatcher {
  private readonly methods = new Map<string, Entry>();
  private readonly log: Logger;
  private readonly limits: XmlRpcLimits | undefined;
  private readonly identify: RpcIdentify | undefined;

  /**
   * Each call is logged once at info ('rpc call': method, host, mac, from, result, ms) — never its
   * parameters (install tokens) or its answer. `identify` names the peer's host and MAC.
   */
  constructor(opts: { logger?: Logger; limits?: XmlRpcLimits; identify?: RpcIdentify } = {}) {
    this.log = opts.logger ?? silentLogger;
    this.limits = opts.limits;
    this.identify = opts.identify;
    this.register(
      'system.listMethods',
      async (params) => {
        expectArity(params, 0);
        return this.names();
      },
      'Returns the names of all methods, sorted.',
    );
    this.register(
      'system.methodHelp',
      async (params) => {
        expectArity(params, 1);
        const name = stringParam(params, 0, 'method name', { maxLength: 200 });
        const e = this.methods.get(name);
        if (!e) throw new RpcNoMethod(name);
        return e.help;
      },
      'Returns the help text of a method.',
    );
  }

  /** Adds a method. Names are dotted identifiers (`netroot.installComplete`); each only once. */
  register(name: string, fn: RpcMethod, help = ''): void {
    if (!NAME.test(name)) throw new TypeError(`bad XML-RPC method name ${JSON.stringify(name)}`);
    if (this.methods.has(name)) throw new TypeError(`XML-RPC method ${name} is already registered`);
    this.methods.set(name, { fn, help });
  }

  names(): string[] {
    return [...this.methods.keys()].sort();
  }

  /** Parses a methodCall, runs the method and returns a methodResponse document. Never rejects. */
  async handle(body: Buffer, ctx: RpcContext): Promise<string> {
    let method = '?';
    const started = Date.now();
    try {
      const call = parseMethodCall(body, this.limits);
      method = call.method;
      const entry = this.methods.get(call.method);
      if (!entry) throw new RpcNoMethod(call.method);
      const result = await entry.fn(call.params, ctx);
      const xml = serializeResponse(result);
      await this.logCall(method, ctx, 'ok', started);
      return xml;
    } catch (e) {
      const xml = this.fault(e, method, ctx);
      if (method !== '?') await this.logCall(method, ctx, isNetrootError(e) ? e.code : e instanceof RpcNoMethod ? 'no_such_method' : 'internal_error', started);
      return xml;
    }
  }

  /** The call's one info line; a malformed document (no method name) has only its debug line. */
  private async logCall(method: string, ctx: RpcContext, result: string, started: number): Promise<void> {
    let who: { host: string; mac: string | null } | null = null;
    try {
      who = this.identify ? await this.identify(ctx.remoteAddress) : null;
    } catch {
      who = null;
    }
    this.log.info('rpc call', {
      method: method.slice(0, 100),
      host: who?.host ?? null,
      mac: who?.mac ?? null,
      from: ctx.remoteAddress,
      result,
      ms: Date.now() - started,
    });
  }

  private fault(e: unknown, method: string, ctx: RpcContext): string {
    if (e instanceof RpcNoMethod) return serializeFault(FaultCode.METHOD_NOT_FOUND, faultText(e.message));
    if (isNetrootError(e) && e.code === E_XMLRPC_MALFORMED) {
      this.log.debug('xmlrpc: malformed request', { remote: ctx.remoteAddress, error: e.message });
      return serializeFault(FaultCode.PARSE_ERROR, faultText(e.message));
    }
    if (isNetrootError(e) && e.code === E_RPC_BAD_PARAMS) return serializeFault(FaultCode.INVALID_PARAMS, faultText(`${method}: ${e.message}`));
    if (isNetrootError(e) && e.user) return serializeFault(FaultCode.APPLICATION, faultText(`${e.code}: ${e.message}`));
    this.log.error('xmlrpc: method failed', { method, remote: ctx.remoteAddress, error: e instanceof Error ? e : String(e) });
    return serializeFault(FaultCode.INTERNAL_ERROR, `internal error in ${method}`);
  }
}

class RpcNoMethod extends Error {
  constructor(name: string) {
    super(`no such method: ${name.slice(0, 200)}`);
  }
}
