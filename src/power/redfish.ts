// The Redfish power driver: a small client on undici's fetch (issue #18). Per call:
//   • Authentication: HTTP Basic first. DSP0266 §13.3.1 makes every service accept it (unless the
//     administrator turned it off: AccountService.HTTPBasicAuth), and a one-shot command of two or
//     three requests gains nothing from a session while it would hold one of the BMC's few session
//     slots (a killed command leaks it until its timeout). When a request with Basic is refused
//     (401/403), the call logs in once (POST {UserName, Password} to the service's Sessions link, or
//     the standard /redfish/v1/SessionService/Sessions → X-Auth-Token + Location, §13.3.4), repeats
//     the refused request with the token (a refused request did nothing) and deletes the session at
//     the end (always, also after an error). Both refused: E_BMC_AUTH naming both answers.
//   • The entry names its systemId and the action needs no boot override (the fast path):
//     POST /redfish/v1/Systems/{id}/Actions/ComputerSystem.Reset {ResetType} at once — the URI
//     patterns DSP0266 §6 (1.6.0+) mandates, and the action URI form ResourceUri/Actions/Name
//     (§7.10) — then GET the system for its PowerState: two requests. A 404/405 (a service with
//     other URIs) or a 400 ActionParameterValueNotInList/ActionNotSupported (a ResetType the system
//     does not allow, which the BMC did not execute) falls back to the reading path below.
//   • The reading path: GET /redfish/v1 (the service root, unauthenticated per §13.3.1), its
//     Systems link, the system (BmcEntry.systemId under Systems, else the collection's only member;
//     with a systemId the root is skipped and the system read at its standard URI first, the root's
//     links only after a 404) → PATCH Boot {BootSourceOverrideTarget: Pxe, BootSourceOverrideEnabled:
//     Once} when req.pxe → POST Actions/#ComputerSystem.Reset.target {ResetType} (DSP8010
//     ComputerSystem), chosen from the system's allowable values → GET the system for its PowerState.
// Action → ResetType: on → On (ForceOn if only that is allowed), off → ForceOff, soft →
// GracefulShutdown, reset → ForceRestart, cycle → PowerCycle when ResetType@Redfish.AllowableValues
// lists it (or there is no list: then every DSP8010 value is allowed), else ForceOff (skipped when
// already Off) + On. On the reading path a value outside the allowable list is E_BMC_UNSUPPORTED,
// never sent; on the fast path the BMC refuses it (400, nothing executed) and the reading path then
// decides the same way.
//
// TLS: each call has its own undici Agent: certificates are verified against Node's roots (plus
// `ca` if given) unless the BMC entry says insecureTls. Targets and Locations the BMC returns are
// followed only on the same origin (credentials never go elsewhere); redirects are not followed.
// Errors name the host, the BMC address and the cause; the secret never appears in them (and is
// scrubbed from anything the BMC echoes), nor in a log: this module logs nothing.
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { Agent, fetch } from 'undici';
import type { ErrorCode } from '../error-codes.js';
import { NetrootError } from '../errors.js';
import type { BmcEntry, PowerDriver, PowerRequest, PowerResult, PowerState } from './types.js';

export interface RedfishDriverOptions {
  /** Each HTTP request (connect, headers and body) must finish within this (default 10 s) → E_BMC_TIMEOUT. */
  requestTimeoutMs?: number;
  /** Largest response body read (default 1 MiB); a larger one is E_BMC_PROTOCOL. */
  maxResponseBytes?: number;
  /** Extra trusted CA certificates (PEM) besides Node's roots, for BMCs with a site CA. */
  ca?: string | Buffer | readonly (string | Buffer)[];
}

const DEFAULT_PORT = 443;
/** DSP0266 §6 (1.6.0+: services follow the schemas' URI patterns) and §13.3.4 (session login). */
const STANDARD_SYSTEMS = '/redfish/v1/Systems';
const STANDARD_SESSIONS = '/redfish/v1/SessionService/Sessions';
/** §7.10: an action's URI is its resource's URI + /Actions/ + the action's qualified name. */
const RESET_ACTION = 'Actions/ComputerSystem.Reset';
/** The ResetType each action tries first (the fast path); the reading path may pick another. */
const FIRST_CHOICE = { on: 'On', off: 'ForceOff', soft: 'GracefulShutdown', reset: 'ForceRestart', cycle: 'PowerCycle' } as const;
/** Verification failures of the peer's certificate (OpenSSL X509 codes as Node names them). */
const CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'ENETDOWN']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export class RedfishDriver implements PowerDriver {
  readonly name = 'redfish' as const;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  /** One TLS context for every connection of this driver: building one per connection (a CA list
   * parsed each time) cost ~150 ms per call on the shared CI machine. */
  private readonly tls: SecureContext;

  constructor(o: RedfishDriverOptions = {}) {
    this.timeoutMs = o.requestTimeoutMs ?? 10_000;
    this.maxBytes = o.maxResponseBytes ?? 1024 * 1024;
    this.tls = createSecureContext(o.ca === undefined ? {} : { ca: [...rootCertificates, ...(Array.isArray(o.ca) ? o.ca : [o.ca as string | Buffer])] });
  }

  async run(bmc: BmcEntry, req: PowerRequest): Promise<PowerResult> {
    const call = new Call(bmc, req.signal, this.timeoutMs, this.maxBytes, this.tls);
    try {
      return await call.run(req);
    } finally {
      await call.close();
    }
  }
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

type Json = Record<string, unknown>;

/** One driver call: one Agent (its connections are reused across the call's requests), one session. */
class Call {
  private readonly base: URL;
  private readonly addr: string;
  private readonly agent: Agent;
  private auth: { token: string; session: string | null } | 'basic' = 'basic';
  /** The service root's Sessions link, once the root was read; else the standard URI is tried. */
  private sessionsPath: string | null = null;
  /** A session login is tried at most once per call (after Basic was refused). */
  private sessionTried = false;

  constructor(
    private readonly bmc: BmcEntry,
    private readonly signal: AbortSignal | undefined,
    private readonly timeoutMs: number,
    private readonly maxBytes: number,
    secureContext: SecureContext,
  ) {
    const port = bmc.port ?? DEFAULT_PORT;
    const host = bmc.address.includes(':') ? `[${bmc.address}]` : bmc.address;
    this.addr = `${host}:${port}`;
    if (!/^[A-Za-z0-9.\-:[\]]{1,255}$/.test(bmc.address) || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new NetrootError(
        'E_BMC_BAD',
        `${bmc.host}: Redfish BMC address ${JSON.stringify(bmc.address.slice(0, 64))} port ${port} is not a host name or IP address and a TCP port`,
      );
    }
    try {
      this.base = new URL(`https://${this.addr}`);
    } catch (e) {
      throw new NetrootError('E_BMC_BAD', `${bmc.host}: Redfish BMC address ${this.addr} is not usable in a URL`, { cause: e });
    }
    this.agent = new Agent({
      connect: { rejectUnauthorized: !bmc.insecureTls, timeout: timeoutMs, secureContext },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connections: 2,
    });
  }

  async run(req: PowerRequest): Promise<PowerResult> {
    if (this.signal?.aborted) throw this.fail('E_BMC_TIMEOUT', `cancelled before the first request (${reasonOf(this.signal)})`);
    const action = req.action;
    if (this.bmc.systemId !== null && action !== 'status' && !req.pxe) {
      const path = `${STANDARD_SYSTEMS}/${encodeURIComponent(this.bmc.systemId)}`;
      if (await this.resetAtStandardUri(path, FIRST_CHOICE[action])) return { state: (await this.getSystem(path)).state };
    }
    const found = this.bmc.systemId !== null ? await this.systemAtStandardUri(this.bmc.systemId) : await this.discover();
    const sysPath = found.path;
    const sys = await this.getSystem(sysPath, found.answer);
    if (action === 'status') return { state: sys.state };
    if (req.pxe && (action === 'on' || action === 'cycle' || action === 'reset')) await this.setPxe(sysPath, sys);
    const allowed = (t: string) => sys.resetTypes === null || sys.resetTypes.includes(t);
    const need = (t: string): string => {
      if (!allowed(t)) throw this.fail('E_BMC_UNSUPPORTED', `ResetType ${t} is not among the system's allowable values (${(sys.resetTypes ?? []).join(', ')})`);
      return t;
    };
    switch (action) {
      case 'on':
        await this.reset(sys.target, allowed('On') || !allowed('ForceOn') ? need('On') : 'ForceOn');
        break;
      case 'off':
        await this.reset(sys.target, need('ForceOff'));
        break;
      case 'soft':
        await this.reset(sys.target, need('GracefulShutdown'));
        break;
      case 'reset':
        await this.reset(sys.target, need('ForceRestart'));
        break;
      case 'cycle':
        if (allowed('PowerCycle')) await this.reset(sys.target, 'PowerCycle');
        else {
          if (sys.raw !== 'Off') await this.reset(sys.target, need('ForceOff'));
          await this.reset(sys.target, allowed('On') || !allowed('ForceOn') ? need('On') : 'ForceOn');
        }
        break;
    }
    return { state: (await this.getSystem(sysPath)).state };
  }

  /** Deletes the session (best effort: also after an error; not awaited after a cancel) and the Agent. */
  async close(): Promise<void> {
    const done = async () => {
      if (this.auth !== 'basic' && this.auth.session) {
        const path = this.auth.session;
        await this.request('DELETE', path, undefined, { ignoreSignal: true }).catch(() => undefined);
      }
      await this.agent.destroy().catch(() => undefined);
    };
    if (this.signal?.aborted) void done();
    else await done();
  }

  // ---- the steps ----

  private async serviceRoot(): Promise<Json> {
    let a = await this.request('GET', '/redfish/v1/', undefined, { noAuth: true });
    // DSP0266 makes the root unauthenticated; a BMC that still wants credentials gets Basic.
    if (a.status === 401) a = await this.request('GET', '/redfish/v1/');
    return this.expectObject(a, [200], 'GET /redfish/v1/');
  }

  /** The root's Systems link (and its Sessions link, for a session login if Basic is refused), then the system. */
  private async discover(known404?: string): Promise<{ path: string; answer?: Answer }> {
    const root = await this.serviceRoot();
    const systems = this.refOf(root, ['Systems'], 'the service root');
    const links = root.Links;
    if (isObject(links) && isObject(links.Sessions) && typeof links.Sessions['@odata.id'] === 'string') {
      this.sessionsPath = this.sameOrigin(links.Sessions['@odata.id'], 'the service root Links/Sessions');
    }
    return this.findSystem(systems, known404);
  }

  /** BmcEntry.systemId given: no service root (see the header); the root only for a 404. */
  private async systemAtStandardUri(id: string): Promise<{ path: string; answer?: Answer }> {
    const path = `${STANDARD_SYSTEMS}/${encodeURIComponent(id)}`;
    const a = await this.request('GET', path);
    if (a.status !== 404) return { path, answer: a };
    return this.discover(path);
  }

  /**
   * The fast path: POST the reset at the standard action URI. true when the BMC did it; false when
   * the reading path must decide (404/405: other URIs; 400 NotInList/NotSupported: not allowed,
   * nothing executed). Any other answer is an error.
   */
  private async resetAtStandardUri(system: string, resetType: string): Promise<boolean> {
    const target = `${system}/${RESET_ACTION}`;
    const a = await this.request('POST', target, { ResetType: resetType });
    if (a.status === 200 || a.status === 202 || a.status === 204) return true;
    if (a.status === 404 || a.status === 405) return false;
    if (a.status === 400 && /ActionParameterValueNotInList|ActionNotSupported/.test(redfishMessage(a.body))) return false;
    throw this.unexpected(a, `POST ${target} ${resetType}`);
  }

  /**
   * POST {UserName, Password} to a Sessions collection: 'session' (token kept), or the answer that
   * is not a login (401/403 refused; 404/405/501 no session login there; anything else). A 200/201
   * without a usable token is E_BMC_PROTOCOL.
   */
  private async loginAt(sessions: string): Promise<'session' | { status: number; body: unknown }> {
    const a = await this.request('POST', sessions, { UserName: this.bmc.user, Password: this.bmc.secret }, { noAuth: true });
    if (a.status !== 201 && a.status !== 200) return { status: a.status, body: a.body };
    const token = a.headers.get('x-auth-token');
    if (!token || !/^[\x21-\x7e]{1,1024}$/.test(token))
      throw this.fail('E_BMC_PROTOCOL', `the session login answered ${a.status} without a usable X-Auth-Token`);
    const loc = a.headers.get('location') ?? (isObject(a.body) && typeof a.body['@odata.id'] === 'string' ? a.body['@odata.id'] : null);
    this.auth = { token, session: loc === null ? null : this.sameOrigin(loc, 'the session Location') };
    return 'session';
  }

  /** The system's path, and its GET answer when that was already read (a given systemId). */
  private async findSystem(systems: string, known404?: string): Promise<{ path: string; answer?: Answer }> {
    const id = this.bmc.systemId;
    if (id !== null) {
      const path = `${systems.replace(/\/+$/, '')}/${encodeURIComponent(id)}`;
      if (path !== known404) {
        const a = await this.request('GET', path);
        if (a.status !== 404) return { path, answer: a };
      }
      const members = await this.members(systems);
      throw this.fail('E_BMC_BAD', `no system ${JSON.stringify(id)} at ${systems} (there: ${members.map(lastSegment).join(', ') || 'none'})`);
    }
    const members = await this.members(systems);
    if (members.length === 1 && members[0] !== undefined) return { path: members[0] };
    if (members.length === 0) throw this.fail('E_BMC_PROTOCOL', `${systems} has no system`);
    throw this.fail(
      'E_BMC_BAD',
      `${systems} has ${members.length} systems (${members.slice(0, 10).map(lastSegment).join(', ')}${members.length > 10 ? ', ...' : ''}): set the BMC entry's system id`,
    );
  }

  private async members(systems: string): Promise<string[]> {
    const c = this.expectObject(await this.request('GET', systems), [200], `GET ${systems}`);
    if (!Array.isArray(c.Members)) throw this.fail('E_BMC_PROTOCOL', `${systems} has no Members array`);
    return c.Members.map((m, i) => {
      if (!isObject(m) || typeof m['@odata.id'] !== 'string') throw this.fail('E_BMC_PROTOCOL', `${systems} Members[${i}] has no @odata.id`);
      return this.sameOrigin(m['@odata.id'], `${systems} Members[${i}]`);
    });
  }

  private async getSystem(
    path: string,
    read?: Answer,
  ): Promise<{ raw: string | null; state: PowerState; target: string; resetTypes: string[] | null; bootTargets: string[] | null; etag: string | null }> {
    const a = read ?? (await this.request('GET', path));
    const s = this.expectObject(a, [200], `GET ${path}`);
    const raw = typeof s.PowerState === 'string' ? s.PowerState : null;
    const actions = s.Actions;
    const reset = isObject(actions) ? actions['#ComputerSystem.Reset'] : undefined;
    if (!isObject(reset) || typeof reset.target !== 'string') throw this.fail('E_BMC_PROTOCOL', `${path} has no Actions/#ComputerSystem.Reset target`);
    const allow = reset['ResetType@Redfish.AllowableValues'];
    const boot = s.Boot;
    const bootAllow = isObject(boot) ? boot['BootSourceOverrideTarget@Redfish.AllowableValues'] : undefined;
    return {
      raw,
      state: stateOf(raw),
      target: this.sameOrigin(reset.target, `${path} reset target`),
      resetTypes: Array.isArray(allow) ? allow.filter((v): v is string => typeof v === 'string') : null,
      bootTargets: Array.isArray(bootAllow) ? bootAllow.filter((v): v is string => typeof v === 'string') : null,
      etag: a.headers.get('etag'),
    };
  }

  /** Next boot from the network, once (DSP8010 ComputerSystem.Boot). If-Match when the GET gave an ETag. */
  private async setPxe(path: string, sys: { bootTargets: string[] | null; etag: string | null }): Promise<void> {
    if (sys.bootTargets !== null && !sys.bootTargets.includes('Pxe')) {
      throw this.fail('E_BMC_UNSUPPORTED', `boot override target Pxe is not among the system's allowable values (${sys.bootTargets.join(', ')})`);
    }
    const a = await this.request(
      'PATCH',
      path,
      { Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' } },
      sys.etag ? { ifMatch: sys.etag } : {},
    );
    if (a.status === 200 || a.status === 202 || a.status === 204) return;
    if (a.status === 400 && /NotInList|NotWritable|PropertyUnknown/.test(redfishMessage(a.body))) {
      throw this.fail('E_BMC_UNSUPPORTED', `the BMC refused the PXE boot override (HTTP 400${redfishMessage(a.body)})`);
    }
    throw this.unexpected(a, `PATCH ${path}`);
  }

  private async reset(target: string, resetType: string): Promise<void> {
    const a = await this.request('POST', target, { ResetType: resetType });
    if (a.status === 200 || a.status === 202 || a.status === 204) return;
    if (a.status === 400 && /ActionParameterValueNotInList|ActionNotSupported/.test(redfishMessage(a.body))) {
      throw this.fail('E_BMC_UNSUPPORTED', `the BMC refused ResetType ${resetType} (HTTP 400${redfishMessage(a.body)})`);
    }
    throw this.unexpected(a, `POST ${target} ${resetType}`);
  }

  // ---- transport ----

  /** One request, bounded in time and size. 401/403 on an authenticated request is E_BMC_AUTH. */
  private async request(method: string, path: string, body?: unknown, o: { noAuth?: boolean; ignoreSignal?: boolean; ifMatch?: string } = {}): Promise<Answer> {
    const url = new URL(path, this.base);
    const headers: Record<string, string> = { Accept: 'application/json', 'OData-Version': '4.0' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (o.ifMatch) headers['If-Match'] = o.ifMatch;
    if (!o.noAuth) {
      if (this.auth === 'basic') headers.Authorization = `Basic ${Buffer.from(`${this.bmc.user}:${this.bmc.secret}`).toString('base64')}`;
      else headers['X-Auth-Token'] = this.auth.token;
    }
    const ctl = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctl.abort();
    }, this.timeoutMs);
    const outer = o.ignoreSignal ? undefined : this.signal;
    const onAbort = () => ctl.abort();
    outer?.addEventListener('abort', onAbort, { once: true });
    const what = `${method} ${url.pathname}`;
    let refused: Answer;
    try {
      if (outer?.aborted) throw this.fail('E_BMC_TIMEOUT', `${what}: cancelled (${reasonOf(outer)})`);
      const res = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        redirect: 'manual',
        dispatcher: this.agent,
        signal: ctl.signal,
      });
      const text = await this.readBounded(res.body, what);
      let parsed: unknown;
      if (text.length > 0) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = INVALID_JSON;
        }
      }
      const a: Answer = { status: res.status, headers: res.headers, body: parsed };
      if (o.noAuth || (a.status !== 401 && a.status !== 403)) return a;
      if (this.auth !== 'basic' || this.sessionTried) {
        throw this.fail(
          'E_BMC_AUTH',
          `${what}: HTTP ${a.status}: the BMC refused user ${JSON.stringify(this.bmc.user)} (${this.auth === 'basic' ? 'Basic auth' : 'session token'})${redfishMessage(a.body)}`,
        );
      }
      refused = a;
    } catch (e) {
      if (e instanceof NetrootError) throw e;
      if (timedOut) throw this.fail('E_BMC_TIMEOUT', `${what}: no answer within ${this.timeoutMs} ms`, e);
      if (outer?.aborted) throw this.fail('E_BMC_TIMEOUT', `${what}: cancelled (${reasonOf(outer)})`, e);
      throw this.transportError(e, what);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    }
    // Basic refused: the administrator may have turned Basic off (AccountService.HTTPBasicAuth);
    // log in once and repeat the request (a refused request did nothing).
    this.sessionTried = true;
    const login = await this.loginAt(this.sessionsPath ?? STANDARD_SESSIONS);
    if (login === 'session') return this.request(method, path, body, o);
    const no = login.status === 404 || login.status === 405 || login.status === 501;
    throw this.fail(
      'E_BMC_AUTH',
      `${what}: HTTP ${refused.status}: the BMC refused user ${JSON.stringify(this.bmc.user)} (Basic auth${redfishMessage(refused.body)}; ${
        no ? 'the service has no session login' : `session login: HTTP ${login.status}${redfishMessage(login.body)}`
      })`,
    );
  }

  private async readBounded(body: ReadableStream<Uint8Array> | null, what: string): Promise<string> {
    if (body === null) return '';
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > this.maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw this.fail('E_BMC_PROTOCOL', `${what}: the answer is larger than ${this.maxBytes} bytes`);
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /** fetch's TypeError('fetch failed') carries the socket/TLS error as its cause (or deeper). */
  private transportError(e: unknown, what: string): NetrootError {
    const code = codeOf(e);
    const detail = causeMessage(e);
    if (code && CERT_CODES.has(code)) {
      return this.fail('E_BMC_TLS', `${what}: the certificate cannot be verified (${code}: ${detail}); set insecure-tls on the BMC entry to accept it`, e);
    }
    if (code && UNREACHABLE_CODES.has(code)) return this.fail('E_BMC_UNREACHABLE', `${what}: ${code} (${detail})`, e);
    if (code && TIMEOUT_CODES.has(code)) return this.fail('E_BMC_TIMEOUT', `${what}: ${code} (${detail})`, e);
    if (code?.startsWith('ERR_SSL_') || code?.startsWith('ERR_TLS_'))
      return this.fail('E_BMC_PROTOCOL', `${what}: TLS handshake failed (${code}: ${detail})`, e);
    return this.fail('E_BMC_PROTOCOL', `${what}: ${code ? `${code}: ` : ''}${detail}`, e);
  }

  private expectObject(a: Answer, ok: number[], what: string): Json {
    if (!ok.includes(a.status)) throw this.unexpected(a, what);
    if (a.body === INVALID_JSON) throw this.fail('E_BMC_PROTOCOL', `${what}: HTTP ${a.status} with a body that is not JSON`);
    if (!isObject(a.body))
      throw this.fail('E_BMC_PROTOCOL', `${what}: HTTP ${a.status} with ${a.body === undefined ? 'no body' : 'JSON that is not an object'}`);
    return a.body;
  }

  private unexpected(a: Answer, what: string): NetrootError {
    const body = a.body === INVALID_JSON ? ' (body not JSON)' : redfishMessage(a.body);
    return this.fail('E_BMC_PROTOCOL', `${what}: unexpected HTTP ${a.status}${body}`);
  }

  /** `Systems` or such: an object with a string @odata.id at `keys` of `o`. */
  private refOf(o: Json, keys: string[], where: string): string {
    let v: unknown = o;
    for (const k of keys) v = isObject(v) ? v[k] : undefined;
    if (!isObject(v) || typeof v['@odata.id'] !== 'string') throw this.fail('E_BMC_PROTOCOL', `${where} has no ${keys.join('/')}/@odata.id`);
    return this.sameOrigin(v['@odata.id'], `${where} ${keys.join('/')}`);
  }

  /** A URI the BMC gave, as a path on this BMC: another origin (or a non-https scheme) is refused. */
  private sameOrigin(ref: string, what: string): string {
    let u: URL;
    try {
      u = new URL(ref, this.base);
    } catch {
      throw this.fail('E_BMC_PROTOCOL', `${what}: ${JSON.stringify(ref.slice(0, 80))} is not a URI`);
    }
    if (u.origin !== this.base.origin)
      throw this.fail('E_BMC_PROTOCOL', `${what}: ${JSON.stringify(ref.slice(0, 80))} points away from the BMC (credentials are not sent there)`);
    return u.pathname + u.search;
  }

  /** The error of this call: "<host>: Redfish BMC <addr>: <cause>", the secret scrubbed. */
  private fail(code: ErrorCode, cause: string, e?: unknown): NetrootError {
    let m = `${this.bmc.host}: Redfish BMC ${this.addr}: ${cause}`;
    const s = this.bmc.secret;
    if (s.length >= 3) {
      m = m.split(s).join('***');
      m = m.split(Buffer.from(`${this.bmc.user}:${s}`).toString('base64')).join('***');
    }
    return new NetrootError(code, m, e === undefined ? {} : { cause: e });
  }
}

const INVALID_JSON = Symbol('invalid JSON');

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** DSP8010 PowerState → netroot's: a transition counts as the state it is heading to. */
function stateOf(raw: string | null): PowerState {
  switch (raw) {
    case 'On':
    case 'PoweringOn':
    case 'Paused':
      return 'on';
    case 'Off':
    case 'PoweringOff':
      return 'off';
    default:
      return 'unknown';
  }
}

/** ": <MessageId> <Message>" from a Redfish error body (DSP0266 §9.6), shortened; '' if none. */
function redfishMessage(body: unknown): string {
  if (!isObject(body) || !isObject(body.error)) return '';
  const err = body.error;
  const info = Array.isArray(err['@Message.ExtendedInfo']) ? err['@Message.ExtendedInfo'][0] : undefined;
  const id = isObject(info) && typeof info.MessageId === 'string' ? info.MessageId : typeof err.code === 'string' ? err.code : '';
  const text = isObject(info) && typeof info.Message === 'string' ? info.Message : typeof err.message === 'string' ? err.message : '';
  const s = `${id} ${text}`.replace(/[\x00-\x1f\x7f]/g, ' ').trim();
  if (!s) return '';
  return `: ${s.length > 200 ? `${s.slice(0, 197)}...` : s}`;
}

function codeOf(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 6 && cur; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && c !== 'ABORT_ERR') return c;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function causeMessage(e: unknown): string {
  let cur: unknown = e;
  let last = '';
  for (let i = 0; i < 6 && cur; i++) {
    if (cur instanceof Error && cur.message) last = cur.message;
    cur = (cur as { cause?: unknown }).cause;
  }
  return last.length > 200 ? `${last.slice(0, 197)}...` : last || 'request failed';
}

function reasonOf(s: AbortSignal): string {
  const r: unknown = s.reason;
  return r instanceof Error ? r.message || r.name : r === undefined ? 'aborted' : String(r).slice(0, 100);
}

function lastSegment(path: string): string {
  const s = path.replace(/\/+$/, '').split('/').pop() ?? path;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
