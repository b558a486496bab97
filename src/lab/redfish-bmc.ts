// The lab's Redfish BMC: the role sushy-tools plays for libvirt (issue #18; sushy-tools is not in
// Debian 12 and PyPI is unreachable here). An HTTPS Redfish service per DMTF DSP0266 (protocol) and
// the DSP8010 schemas it serves: ServiceRoot, the Systems collection, ComputerSystem (PowerState,
// Boot override, Actions/#ComputerSystem.Reset), SessionService and its Sessions collection.
// Authentication (DSP0266 §13.3): a session (POST Sessions {UserName, Password} → 201 +
// X-Auth-Token + Location) or HTTP Basic; the service root and the session login are the only
// unauthenticated resources; anything else without valid credentials is 401.
//
// Each ComputerSystem is backed by a `SystemBackend` ({powerState, on, off, reset}): `MemorySystem`
// for tests and the benchmark, a QEMU node in the lab. One `RedfishBmc` object serves many systems
// and listens on many addresses/ports (`listen()` once per BMC): every listener shares one TLS
// context and one request handler (each is a plain net.Server handing its sockets to one https.Server
// that never listens itself), so 200 BMCs cost 200 listening sockets, not 200 TLS servers. A
// listener may expose a subset of the systems (one each, like a real BMC) and its sessions are its own.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetrootError } from '../errors.js';

/** DSP8010 PowerState values this emulator reports. */
export type RedfishPowerState = 'On' | 'Off' | 'PoweringOn' | 'PoweringOff';
/** A restart of a running system: hard, through the OS (ACPI), off-then-on, or a diagnostic interrupt. */
export type ResetKind = 'force' | 'graceful' | 'cycle' | 'nmi';
/** The one-time or continuous boot override in force when a system starts (null: its default order). */
export type BootSource = string | null;

/** What a ComputerSystem drives. Calls may be sync or async; a throw becomes a Redfish 500. */
export interface SystemBackend {
  powerState(): RedfishPowerState | Promise<RedfishPowerState>;
  /** Power on (no-op when on). `boot` is the override target in force for this start (e.g. 'Pxe'). */
  on(boot: BootSource): void | Promise<void>;
  /** Power off: 'force' cuts power, 'graceful' asks the OS (ACPI power button). No-op when off. */
  off(mode: 'force' | 'graceful'): void | Promise<void>;
  /** Restart. On an Off system a restart powers it on (the emulator's choice; DSP8010 leaves it open). */
  reset(kind: ResetKind, boot: BootSource): void | Promise<void>;
}

/** An in-memory system: state, and the history of what was asked (tests, the benchmark). */
export class MemorySystem implements SystemBackend {
  state: 'On' | 'Off';
  /** Every call, in order: 'on:Pxe', 'off:force', 'reset:cycle:None'… (boot null is 'None'). */
  readonly history: string[] = [];
  /** The boot source of each start (power-on or restart), 'None' for the default order. */
  readonly boots: string[] = [];
  constructor(initial: 'On' | 'Off' = 'Off') {
    this.state = initial;
  }
  powerState(): RedfishPowerState {
    return this.state;
  }
  on(boot: BootSource): void {
    this.history.push(`on:${boot ?? 'None'}`);
    if (this.state === 'Off') this.boots.push(boot ?? 'None');
    this.state = 'On';
  }
  off(mode: 'force' | 'graceful'): void {
    this.history.push(`off:${mode}`);
    this.state = 'Off';
  }
  reset(kind: ResetKind, boot: BootSource): void {
    this.history.push(`reset:${kind}:${boot ?? 'None'}`);
    if (kind === 'nmi') return;
    this.boots.push(boot ?? 'None');
    this.state = 'On';
  }
}

/** What `ProcessSystem` needs of a running machine: `Lab.bootNode()`'s LabNode fits. */
export interface PoweredProcess {
  /** Hard power-off: kill the machine and wait for it. */
  powerOff(): Promise<void>;
  /** Settles when the machine is gone (killed, or the guest powered itself off). */
  readonly exited: Promise<unknown>;
}

/**
 * A system that is a process, e.g. a lab QEMU node: `start(boot)` powers it on (`lab.bootNode(...)`),
 * it is On while the process lives (a guest `poweroff` ends QEMU, and the system reads Off). Lab
 * nodes run `-no-reboot` and boot from the network, so a restart is stop + start, and a graceful
 * shutdown is a hard one (no ACPI agent between the emulator and QEMU). Nmi does nothing.
 */
export class ProcessSystem implements SystemBackend {
  private running: PoweredProcess | null = null;
  /** Boot sources of each start, as in MemorySystem. */
  readonly boots: string[] = [];
  constructor(private readonly start: (boot: BootSource) => PoweredProcess) {}
  powerState(): RedfishPowerState {
    return this.running ? 'On' : 'Off';
  }
  on(boot: BootSource): void {
    if (this.running) return;
    const p = this.start(boot);
    this.boots.push(boot ?? 'None');
    this.running = p;
    void p.exited.then(
      () => this.running === p && (this.running = null),
      () => this.running === p && (this.running = null),
    );
  }
  async off(_mode: 'force' | 'graceful'): Promise<void> {
    const p = this.running;
    if (!p) return;
    await p.powerOff();
    if (this.running === p) this.running = null;
  }
  async reset(kind: ResetKind, boot: BootSource): Promise<void> {
    if (kind === 'nmi') return;
    await this.off('force');
    this.on(boot);
  }
}

/** DSP8010 ResetType values; the emulator implements all of them. */
export const RESET_TYPES = [
  'On',
  'ForceOff',
  'GracefulShutdown',
  'GracefulRestart',
  'ForceRestart',
  'Nmi',
  'ForceOn',
  'PushPowerButton',
  'PowerCycle',
] as const;
/** DSP8010 ComputerSystem BootSource values offered by default. */
export const BOOT_TARGETS = ['None', 'Pxe', 'Hdd', 'Cd', 'Usb', 'BiosSetup', 'UefiShell', 'UefiHttp'] as const;
const BOOT_ENABLED = ['Disabled', 'Once', 'Continuous'] as const;
const BOOT_MODES = ['Legacy', 'UEFI'] as const;

export interface SystemSpec {
  /** The ComputerSystem Id (URL segment): [A-Za-z0-9._-]{1,64}. */
  id: string;
  name?: string;
  backend: SystemBackend;
  /** ResetType@Redfish.AllowableValues (default: all of RESET_TYPES); a type not listed is refused with 400. */
  resetTypes?: readonly string[];
  /** BootSourceOverrideTarget@Redfish.AllowableValues (default BOOT_TARGETS). */
  bootTargets?: readonly string[];
}

export interface RedfishBmcOptions {
  systems: readonly SystemSpec[];
  /** Accounts (the lab's: never a real secret). */
  users: readonly { name: string; password: string }[];
  /** PEM key and certificate; default: a self-signed one made with `openssl` under `workDir`. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Where the generated certificate goes (required unless `tls`). */
  workDir?: string;
  /** Offer the SessionService (default true). false: a service with Basic auth only. */
  sessions?: boolean;
  /** Accept HTTP Basic (default true). */
  basicAuth?: boolean;
  /** Largest request body read (default 16 KiB); larger → 413 and the connection is closed. */
  maxBodyBytes?: number;
  /** Open sessions per listener (default 64); one more → 503 SessionLimitExceeded. */
  maxSessions?: number;
  /** SessionService.SessionTimeout: idle seconds before a session expires (default 1800). */
  sessionTimeoutSec?: number;
  /** An idle connection is closed after this (default 30 s). */
  idleTimeoutMs?: number;
  /**
   * Each request waits this long (a timer: other requests go on meanwhile) before it is handled and
   * answered, as a real BMC's slow management controller does (100 ms to seconds per request).
   * Default 0: answer at once. The benchmark's "emulated BMC latency".
   */
  responseDelayMs?: number;
}

/** One listening BMC: its address and the systems it exposes. */
export interface BmcListener {
  host: string;
  port: number;
  systems: readonly string[];
}

interface Session {
  id: string;
  user: string;
  tokenHash: Buffer;
  lastUsed: number;
}

interface View {
  key: string;
  listener: BmcListener;
  server: NetServer;
  sessions: Map<string, Session>;
}

interface SystemState {
  spec: SystemSpec;
  name: string;
  resetTypes: readonly string[];
  bootTargets: readonly string[];
  boot: { target: string; enabled: string; mode: string };
}

const REGISTRY = 'Base.1.15.0';
const ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
const ROOT = '/redfish/v1';

/** A Redfish error (DSP0266 §9.6 "Error responses"): `error.code`, `error.message`, `@Message.ExtendedInfo`. */
class RfError extends Error {
  constructor(
    readonly status: number,
    readonly messages: readonly { id: string; message: string; args?: string[]; resolution?: string }[],
    readonly headers: Record<string, string> = {},
  ) {
    super(messages[0]?.message ?? 'error');
  }
}

function msg(id: string, message: string, args: string[] = [], resolution?: string) {
  return { id, message, args, ...(resolution ? { resolution } : {}) };
}

/** Makes a self-signed certificate (EC P-256, SAN 127.0.0.1 and localhost) with the `openssl` CLI. */
export async function selfSignedCert(dir: string, extraSans: readonly string[] = []): Promise<{ key: Buffer; cert: Buffer }> {
  mkdirSync(dir, { recursive: true });
  const keyFile = join(dir, 'bmc-key.pem');
  const certFile = join(dir, 'bmc-cert.pem');
  if (!existsSync(keyFile) || !existsSync(certFile)) {
    const san = ['IP:127.0.0.1', 'DNS:localhost', ...extraSans].join(',');
    await new Promise<void>((resolve, reject) =>
      execFile(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '30',
          '-subj',
          '/CN=netroot-lab-bmc',
          '-addext',
          `subjectAltName=${san}`,
          '-keyout',
          keyFile,
          '-out',
          certFile,
        ],
        { timeout: 30_000 },
        (err, _out, stderr) => (err ? reject(new NetrootError('E_LAB_BMC', `openssl req failed: ${stderr.trim() || err.message}`, { cause: err })) : resolve()),
      ),
    );
  }
  return { key: readFileSync(keyFile), cert: readFileSync(certFile) };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export class RedfishBmc {
  private readonly systems = new Map<string, SystemState>();
  private readonly users: Map<string, Buffer>;
  private readonly https: HttpsServer;
  private readonly views = new Map<string, View>();
  private readonly sockets = new Set<Socket>();
  private readonly opts: Required<Omit<RedfishBmcOptions, 'tls' | 'workDir' | 'systems' | 'users'>>;
  private readonly uuid = randomUUID();
  private closed = false;
  private served = 0;

  /** Starts the emulator (no listener yet): makes its certificate unless given. */
  static async create(o: RedfishBmcOptions): Promise<RedfishBmc> {
    let tls = o.tls;
    if (!tls) {
      if (!o.workDir) throw new NetrootError('E_LAB_BMC', 'RedfishBmc: give tls or workDir');
      tls = await selfSignedCert(o.workDir);
    }
    return new RedfishBmc(o, tls);
  }

  private constructor(o: RedfishBmcOptions, tls: { key: string | Buffer; cert: string | Buffer }) {
    this.opts = {
      sessions: o.sessions ?? true,
      basicAuth: o.basicAuth ?? true,
      maxBodyBytes: o.maxBodyBytes ?? 16 * 1024,
      maxSessions: o.maxSessions ?? 64,
      sessionTimeoutSec: o.sessionTimeoutSec ?? 1800,
      idleTimeoutMs: o.idleTimeoutMs ?? 30_000,
      responseDelayMs: o.responseDelayMs ?? 0,
    };
    if (!Number.isFinite(this.opts.responseDelayMs) || this.opts.responseDelayMs < 0 || this.opts.responseDelayMs > 600_000) {
      throw new NetrootError('E_LAB_BMC', `RedfishBmc: responseDelayMs ${this.opts.responseDelayMs} is not 0..600000`);
    }
    this.users = new Map(o.users.map((u) => [u.name, sha256(u.password)]));
    for (const s of o.systems) this.addSystem(s);
    this.https = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) this.sendError(res, new RfError(500, [msg('InternalError', `internal error: ${e instanceof Error ? e.message : String(e)}`)]));
        else res.destroy();
      });
    });
    this.https.keepAliveTimeout = this.opts.idleTimeoutMs;
    this.https.on('tlsClientError', (_e, socket) => socket.destroy());
  }

  addSystem(s: SystemSpec): void {
    if (!ID_RE.test(s.id)) throw new NetrootError('E_LAB_BMC', `RedfishBmc: system id ${JSON.stringify(s.id)} is not [A-Za-z0-9._-]{1,64}`);
    if (this.systems.has(s.id)) throw new NetrootError('E_LAB_BMC', `RedfishBmc: system ${s.id} twice`);
    this.systems.set(s.id, {
      spec: s,
      name: s.name ?? s.id,
      resetTypes: s.resetTypes ?? RESET_TYPES,
      bootTargets: s.bootTargets ?? BOOT_TARGETS,
      boot: { target: 'None', enabled: 'Disabled', mode: 'UEFI' },
    });
  }

  /** The boot override of a system as the service holds it (tests). */
  bootOverride(id: string): { target: string; enabled: string; mode: string } {
    const s = this.systems.get(id);
    if (!s) throw new NetrootError('E_LAB_BMC', `RedfishBmc: no system ${id}`);
    return { ...s.boot };
  }

  /** Open sessions on all listeners. */
  get sessionCount(): number {
    let n = 0;
    for (const v of this.views.values()) n += v.sessions.size;
    return n;
  }

  /** HTTP requests received on all listeners so far (each counted when it arrives). */
  get requestCount(): number {
    return this.served;
  }

  get listeners(): BmcListener[] {
    return [...this.views.values()].map((v) => v.listener);
  }

  /**
   * Listens as one BMC on host:port (port 0: any free one). `systems`: the ids it exposes
   * (default all). Resolves with the address actually bound.
   */
  async listen(o: { host?: string; port?: number; systems?: readonly string[] } = {}): Promise<BmcListener> {
    if (this.closed) throw new NetrootError('E_LAB_BMC', 'RedfishBmc: closed');
    const host = o.host ?? '127.0.0.1';
    const systems = o.systems ?? [...this.systems.keys()];
    for (const id of systems) if (!this.systems.has(id)) throw new NetrootError('E_LAB_BMC', `RedfishBmc: no system ${id}`);
    const server = createNetServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      socket.setTimeout(this.opts.idleTimeoutMs, () => socket.destroy());
      this.https.emit('connection', socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new NetrootError('E_LAB_BMC', `RedfishBmc: cannot listen on ${host}:${o.port ?? 0}: ${e.message}`, { cause: e })));
      server.listen({ host, port: o.port ?? 0, exclusive: true }, () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new NetrootError('E_LAB_BMC', 'RedfishBmc: no address');
    const listener: BmcListener = { host: addr.address, port: addr.port, systems: [...systems] };
    const key = `${addr.address}|${addr.port}`;
    this.views.set(key, { key, listener, server, sessions: new Map() });
    return listener;
  }

  /** Stops every listener and drops every connection. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.views.values()];
    this.views.clear();
    for (const s of this.sockets) s.destroy();
    await Promise.all(all.map((v) => new Promise<void>((r) => v.server.close(() => r()))));
    this.https.close();
  }

  // ---- request handling ----

  private viewOf(req: IncomingMessage): View | undefined {
    const s = req.socket;
    return this.views.get(`${s.localAddress ?? ''}|${s.localPort ?? 0}`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const view = this.viewOf(req);
    if (!view) {
      res.destroy();
      return;
    }
    this.served++;
    if (this.opts.responseDelayMs > 0) await sleep(this.opts.responseDelayMs);
    const method = req.method ?? 'GET';
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'https://bmc').pathname);
    } catch {
      throw new RfError(400, [msg('QueryParameterValueFormatError', 'The request URL cannot be decoded.')]);
    }
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    try {
      await this.route(view, method, path, req, res);
    } catch (e) {
      if (e instanceof RfError) {
        // A request whose body was not read to its end would be read as the next request: close.
        if (!req.complete) res.setHeader('Connection', 'close');
        this.sendError(res, e);
        if (!req.complete) req.resume();
      } else throw e;
    }
  }

  private async route(view: View, method: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const seg = path.split('/').filter((p) => p !== '');
    // /redfish: the protocol versions (DSP0266 §6.3), unauthenticated.
    if (path === '/redfish') return this.only(method, ['GET'], () => this.sendJson(res, 200, { v1: `${ROOT}/` }));
    if (path === ROOT) return this.only(method, ['GET'], () => this.sendJson(res, 200, this.serviceRoot()));
    if (seg[0] !== 'redfish' || seg[1] !== 'v1') throw notFound(path);
    const rest = seg.slice(2);
    // Login: the one unauthenticated POST (DSP0266 §13.3.4).
    if (this.opts.sessions && rest.length === 2 && rest[0] === 'SessionService' && rest[1] === 'Sessions' && method === 'POST') {
      return this.login(view, req, res);
    }
    this.authenticate(view, req);
    if (rest[0] === 'Systems') {
      if (rest.length === 1) return this.only(method, ['GET'], () => this.sendJson(res, 200, this.systemsCollection(view)));
      const sys = this.systemOf(view, rest[1] ?? '', path);
      if (rest.length === 2) {
        if (method === 'PATCH') return this.patchSystem(sys, req, res);
        return this.only(method, ['GET', 'PATCH'], async () => {
          const r = await this.systemResource(sys);
          this.sendJson(res, 200, r, { ETag: etagOf(r) });
        });
      }
      if (rest.length === 4 && rest[2] === 'Actions' && rest[3] === 'ComputerSystem.Reset') {
        return this.only(method, ['POST'], () => this.resetSystem(sys, req, res));
      }
      throw notFound(path);
    }
    if (rest[0] === 'SessionService' && this.opts.sessions) {
      if (rest.length === 1) return this.only(method, ['GET'], () => this.sendJson(res, 200, this.sessionService()));
      if (rest[1] === 'Sessions' && rest.length === 2) return this.only(method, ['GET', 'POST'], () => this.sendJson(res, 200, this.sessionsCollection(view)));
      if (rest[1] === 'Sessions' && rest.length === 3) {
        const s = view.sessions.get(rest[2] ?? '');
        if (!s) throw notFound(path);
        return this.only(method, ['GET', 'DELETE'], () => {
          if (method === 'DELETE') {
            view.sessions.delete(s.id);
            res.writeHead(204, { 'OData-Version': '4.0' }).end();
          } else this.sendJson(res, 200, this.sessionResource(s));
        });
      }
    }
    throw notFound(path);
  }

  /** Runs `fn` for an allowed method, else 405 with Allow (DSP0266 §7: unsupported method). */
  private async only(method: string, allowed: readonly string[], fn: () => void | Promise<void>): Promise<void> {
    if (!allowed.includes(method)) {
      throw new RfError(405, [msg('OperationNotAllowed', `The ${method} method is not allowed on this resource.`)], { Allow: allowed.join(', ') });
    }
    await fn();
  }

  private systemOf(view: View, id: string, path: string): SystemState {
    const s = view.listener.systems.includes(id) ? this.systems.get(id) : undefined;
    if (!s) throw notFound(path);
    return s;
  }

  // ---- authentication ----

  private authenticate(view: View, req: IncomingMessage): string {
    const token = req.headers['x-auth-token'];
    if (typeof token === 'string' && this.opts.sessions) {
      const h = sha256(token);
      const now = Date.now();
      for (const s of view.sessions.values()) {
        if (now - s.lastUsed > this.opts.sessionTimeoutSec * 1000) {
          view.sessions.delete(s.id);
          continue;
        }
        if (timingSafeEqual(s.tokenHash, h)) {
          s.lastUsed = now;
          return s.user;
        }
      }
    }
    const auth = req.headers.authorization;
    if (this.opts.basicAuth && typeof auth === 'string' && /^basic /i.test(auth)) {
      const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0 && this.checkPassword(decoded.slice(0, colon), decoded.slice(colon + 1))) return decoded.slice(0, colon);
    }
    throw new RfError(
      401,
      [msg('NoValidSession', 'There is no valid session established with the implementation.', [], 'Establish a session before attempting any operations.')],
      this.opts.basicAuth ? { 'WWW-Authenticate': 'Basic realm="netroot-lab-bmc"' } : {},
    );
  }

  private checkPassword(user: string, password: string): boolean {
    const want = this.users.get(user);
    const got = sha256(password);
    // Compare even for an unknown user, so the time does not tell which users exist.
    return timingSafeEqual(want ?? sha256(`\0${randomUUID()}`), got) && want !== undefined;
  }

  private async login(view: View, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.readJson(req);
    const problems = [];
    for (const p of ['UserName', 'Password']) {
      if (!(p in body)) problems.push(msg('PropertyMissing', `The property ${p} is a required property and must be included in the request.`, [p]));
      else if (typeof body[p] !== 'string')
        problems.push(msg('PropertyValueTypeError', `The value for the property ${p} is of a different type than the property can accept.`, ['(hidden)', p]));
    }
    if (problems.length > 0) throw new RfError(400, problems);
    const user = body.UserName as string;
    if (!this.checkPassword(user, body.Password as string)) {
      throw new RfError(401, [
        msg(
          'ResourceAtUriUnauthorized',
          'While accessing the resource at /redfish/v1/SessionService/Sessions, the service received an authorization error: invalid user name or password.',
          ['/redfish/v1/SessionService/Sessions', 'invalid user name or password'],
        ),
      ]);
    }
    const now = Date.now();
    for (const s of view.sessions.values()) if (now - s.lastUsed > this.opts.sessionTimeoutSec * 1000) view.sessions.delete(s.id);
    if (view.sessions.size >= this.opts.maxSessions) {
      throw new RfError(503, [
        msg('SessionLimitExceeded', 'The session establishment failed due to the number of simultaneous sessions exceeding the limit of the implementation.'),
      ]);
    }
    const token = randomBytes(24).toString('hex');
    const s: Session = { id: randomBytes(8).toString('hex'), user, tokenHash: sha256(token), lastUsed: now };
    view.sessions.set(s.id, s);
    const location = `${ROOT}/SessionService/Sessions/${s.id}`;
    this.sendJson(res, 201, this.sessionResource(s), { 'X-Auth-Token': token, Location: location });
  }

  // ---- resources ----

  private serviceRoot(): object {
    return {
      '@odata.type': '#ServiceRoot.v1_11_0.ServiceRoot',
      '@odata.id': ROOT,
      Id: 'RootService',
      Name: 'netroot lab Redfish BMC',
      RedfishVersion: '1.11.0',
      UUID: this.uuid,
      Systems: { '@odata.id': `${ROOT}/Systems` },
      ...(this.opts.sessions ? { SessionService: { '@odata.id': `${ROOT}/SessionService` } } : {}),
      Links: this.opts.sessions ? { Sessions: { '@odata.id': `${ROOT}/SessionService/Sessions` } } : {},
    };
  }

  private systemsCollection(view: View): object {
    return {
      '@odata.type': '#ComputerSystemCollection.ComputerSystemCollection',
      '@odata.id': `${ROOT}/Systems`,
      Name: 'Computer System Collection',
      'Members@odata.count': view.listener.systems.length,
      Members: view.listener.systems.map((id) => ({ '@odata.id': `${ROOT}/Systems/${id}` })),
    };
  }

  private async systemResource(s: SystemState): Promise<object> {
    const id = s.spec.id;
    return {
      '@odata.type': '#ComputerSystem.v1_20_0.ComputerSystem',
      '@odata.id': `${ROOT}/Systems/${id}`,
      Id: id,
      Name: s.name,
      SystemType: 'Virtual',
      Manufacturer: 'netroot lab',
      PowerState: await s.spec.backend.powerState(),
      Status: { State: 'Enabled', Health: 'OK' },
      Boot: {
        BootSourceOverrideTarget: s.boot.target,
        'BootSourceOverrideTarget@Redfish.AllowableValues': [...s.bootTargets],
        BootSourceOverrideEnabled: s.boot.enabled,
        'BootSourceOverrideEnabled@Redfish.AllowableValues': [...BOOT_ENABLED],
        BootSourceOverrideMode: s.boot.mode,
        'BootSourceOverrideMode@Redfish.AllowableValues': [...BOOT_MODES],
      },
      Actions: {
        '#ComputerSystem.Reset': {
          target: `${ROOT}/Systems/${id}/Actions/ComputerSystem.Reset`,
          'ResetType@Redfish.AllowableValues': [...s.resetTypes],
        },
      },
    };
  }

  private sessionService(): object {
    return {
      '@odata.type': '#SessionService.v1_1_8.SessionService',
      '@odata.id': `${ROOT}/SessionService`,
      Id: 'SessionService',
      Name: 'Session Service',
      ServiceEnabled: true,
      SessionTimeout: this.opts.sessionTimeoutSec,
      Sessions: { '@odata.id': `${ROOT}/SessionService/Sessions` },
    };
  }

  private sessionsCollection(view: View): object {
    return {
      '@odata.type': '#SessionCollection.SessionCollection',
      '@odata.id': `${ROOT}/SessionService/Sessions`,
      Name: 'Session Collection',
      'Members@odata.count': view.sessions.size,
      Members: [...view.sessions.keys()].map((id) => ({ '@odata.id': `${ROOT}/SessionService/Sessions/${id}` })),
    };
  }

  private sessionResource(s: Session): object {
    return {
      '@odata.type': '#Session.v1_6_0.Session',
      '@odata.id': `${ROOT}/SessionService/Sessions/${s.id}`,
      Id: s.id,
      Name: 'User Session',
      UserName: s.user,
    };
  }

  // ---- actions ----

  /** PATCH of a ComputerSystem: only Boot's three override properties are writable; all-or-nothing. */
  private async patchSystem(s: SystemState, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.readJson(req);
    // DSP0266 §7.5 (ETags): a PATCH with If-Match applies only to the representation it names.
    const ifMatch = req.headers['if-match'];
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== etagOf(await this.systemResource(s))) {
      throw new RfError(412, [msg('PreconditionFailed', 'The ETag supplied did not match the ETag required to change this resource.')]);
    }
    const problems: ReturnType<typeof msg>[] = [];
    const next = { ...s.boot };
    for (const [k, v] of Object.entries(body)) {
      if (k !== 'Boot') {
        problems.push(
          ['Id', 'Name', 'PowerState', 'Actions', 'Status', 'SystemType', 'Manufacturer', '@odata.id', '@odata.type'].includes(k)
            ? msg('PropertyNotWritable', `The property ${k} is a read only property and cannot be assigned a value.`, [k])
            : msg('PropertyUnknown', `The property ${k} is not in the list of valid properties for the resource.`, [k]),
        );
        continue;
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        problems.push(
          msg('PropertyValueTypeError', `The value ${short(v)} for the property Boot is of a different type than the property can accept.`, [short(v), 'Boot']),
        );
        continue;
      }
      const fields: Record<string, { key: 'target' | 'enabled' | 'mode'; allowed: readonly string[] }> = {
        BootSourceOverrideTarget: { key: 'target', allowed: s.bootTargets },
        BootSourceOverrideEnabled: { key: 'enabled', allowed: BOOT_ENABLED },
        BootSourceOverrideMode: { key: 'mode', allowed: BOOT_MODES },
      };
      for (const [bk, bv] of Object.entries(v as Record<string, unknown>)) {
        const f = fields[bk];
        if (!f) {
          problems.push(
            bk.includes('@')
              ? msg('PropertyNotWritable', `The property Boot/${bk} is a read only property and cannot be assigned a value.`, [`Boot/${bk}`])
              : msg('PropertyUnknown', `The property Boot/${bk} is not in the list of valid properties for the resource.`, [`Boot/${bk}`]),
          );
        } else if (typeof bv !== 'string') {
          problems.push(
            msg('PropertyValueTypeError', `The value ${short(bv)} for the property ${bk} is of a different type than the property can accept.`, [
              short(bv),
              bk,
            ]),
          );
        } else if (!f.allowed.includes(bv)) {
          problems.push(
            msg(
              'PropertyValueNotInList',
              `The value ${short(bv)} for the property ${bk} is not in the list of acceptable values.`,
              [short(bv), bk],
              `Choose a value from: ${f.allowed.join(', ')}.`,
            ),
          );
        } else next[f.key] = bv;
      }
    }
    if (problems.length > 0) throw new RfError(400, problems);
    s.boot = next;
    const r = await this.systemResource(s);
    this.sendJson(res, 200, r, { ETag: etagOf(r) });
  }

  /** POST …/Actions/ComputerSystem.Reset {ResetType} (DSP0266 §7.10 actions; 204 on success). */
  private async resetSystem(s: SystemState, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.readJson(req);
    const problems = [];
    for (const k of Object.keys(body)) {
      if (k !== 'ResetType')
        problems.push(
          msg('ActionParameterNotSupported', `The parameter ${k} for the action ComputerSystem.Reset is not supported on the target resource.`, [
            k,
            'ComputerSystem.Reset',
          ]),
        );
    }
    const t = body.ResetType;
    if (t === undefined)
      problems.push(
        msg('ActionParameterMissing', 'The action ComputerSystem.Reset requires the parameter ResetType to be present in the request body.', [
          'ComputerSystem.Reset',
          'ResetType',
        ]),
      );
    else if (typeof t !== 'string')
      problems.push(
        msg(
          'ActionParameterValueTypeError',
          `The value ${short(t)} for the parameter ResetType in the action ComputerSystem.Reset is of a different type than the parameter can accept.`,
          [short(t), 'ResetType', 'ComputerSystem.Reset'],
        ),
      );
    else if (!s.resetTypes.includes(t)) {
      problems.push(
        msg(
          'ActionParameterValueNotInList',
          `The value ${short(t)} for the parameter ResetType in the action ComputerSystem.Reset is not in the list of acceptable values.`,
          [short(t), 'ResetType', 'ComputerSystem.Reset'],
          `Choose a value from: ${s.resetTypes.join(', ')}.`,
        ),
      );
    }
    if (problems.length > 0) throw new RfError(400, problems);
    const b = s.spec.backend;
    const state = await b.powerState();
    const running = state === 'On' || state === 'PoweringOn';
    // The override in force for a start; a Once override is consumed by it (DSP8010 Boot).
    const start = (): BootSource => {
      const boot = s.boot.enabled === 'Disabled' || s.boot.target === 'None' ? null : s.boot.target;
      if (s.boot.enabled === 'Once') s.boot = { ...s.boot, enabled: 'Disabled', target: 'None' };
      return boot;
    };
    try {
      switch (t as (typeof RESET_TYPES)[number]) {
        case 'On':
        case 'ForceOn':
          if (!running) await b.on(start());
          break;
        case 'ForceOff':
          await b.off('force');
          break;
        case 'GracefulShutdown':
          await b.off('graceful');
          break;
        case 'PushPowerButton':
          if (running) await b.off('graceful');
          else await b.on(start());
          break;
        case 'ForceRestart':
          await b.reset('force', start());
          break;
        case 'GracefulRestart':
          await b.reset('graceful', start());
          break;
        case 'PowerCycle':
          await b.reset('cycle', start());
          break;
        case 'Nmi':
          await b.reset('nmi', null);
          break;
      }
    } catch (e) {
      throw new RfError(500, [msg('GeneralError', `The system could not be ${t}: ${e instanceof Error ? e.message : String(e)}`)]);
    }
    res.writeHead(204, { 'OData-Version': '4.0' }).end();
  }

  // ---- I/O ----

  /** Reads a JSON object body, at most maxBodyBytes (413 beyond), Content-Type application/json or none (415). */
  private async readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    const ct = req.headers['content-type'];
    if (ct !== undefined && !/^application\/json\s*(;|$)/i.test(ct)) {
      throw new RfError(415, [msg('UnsupportedMediaType', `The content type ${short(ct)} is not supported: use application/json.`)]);
    }
    const max = this.opts.maxBodyBytes;
    const tooLarge = () => new RfError(413, [msg('GeneralError', `The request body is larger than ${max} bytes.`)]);
    if (Number(req.headers['content-length'] ?? 0) > max) throw tooLarge();
    // Events, not for-await: leaving a for-await destroys the request, and with it the socket the
    // 413 must go out on. handle() sends the error with Connection: close and drains the rest.
    const chunks = await new Promise<Buffer[]>((resolve, reject) => {
      const got: Buffer[] = [];
      let size = 0;
      const onData = (c: Buffer) => {
        size += c.length;
        if (size > max) {
          req.off('data', onData).off('end', onEnd);
          reject(tooLarge());
        } else got.push(c);
      };
      const onEnd = () => resolve(got);
      req.on('data', onData).on('end', onEnd).on('error', reject);
    });
    const text = Buffer.concat(chunks).toString('utf8');
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new RfError(400, [msg('MalformedJSON', 'The request body submitted was malformed JSON and could not be parsed by the receiving service.')]);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new RfError(400, [
        msg('UnrecognizedRequestBody', 'The service detected a malformed request body that it was unable to interpret: a JSON object is expected.'),
      ]);
    }
    return v as Record<string, unknown>;
  }

  private sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      'OData-Version': '4.0',
      'Cache-Control': 'no-store',
      ...headers,
    });
    res.end(text);
  }

  private sendError(res: ServerResponse, e: RfError): void {
    const first = e.messages[0];
    this.sendJson(
      res,
      e.status,
      {
        error: {
          code: `${REGISTRY}.${e.messages.length === 1 && first ? first.id : 'GeneralError'}`,
          message: e.messages.length === 1 && first ? first.message : 'A general error has occurred. See ExtendedInfo for more information.',
          '@Message.ExtendedInfo': e.messages.map((m) => ({
            '@odata.type': '#Message.v1_1_1.Message',
            MessageId: `${REGISTRY}.${m.id}`,
            Message: m.message,
            MessageArgs: m.args ?? [],
            MessageSeverity: e.status >= 500 ? 'Critical' : 'Warning',
            ...(m.resolution ? { Resolution: m.resolution } : {}),
          })),
        },
      },
      e.headers,
    );
  }
}

/** A weak ETag of a representation (DSP0266 §7.5): changes whenever the resource does. */
function etagOf(resource: object): string {
  return `W/"${createHash('sha256').update(JSON.stringify(resource)).digest('hex').slice(0, 16)}"`;
}

function notFound(path: string): RfError {
  return new RfError(404, [msg('ResourceMissingAtURI', `The resource at the URI ${short(path)} was not found.`, [short(path)])]);
}

/** A value for a message: JSON, at most 64 characters. */
function short(v: unknown): string {
  const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
}

/**
 * `count` in-memory BMCs in one emulator: system `node-<i>` on its own listener (one system each,
 * like a real BMC), ports from `basePort + i` (0: any free port) on `host`. The benchmark's 200 BMCs.
 */
export async function startMemoryBmcs(o: {
  count: number;
  user: string;
  password: string;
  workDir?: string;
  tls?: { key: string | Buffer; cert: string | Buffer };
  host?: string;
  basePort?: number;
  sessions?: boolean;
  initial?: 'On' | 'Off';
  /** RedfishBmcOptions.responseDelayMs (default 0). */
  responseDelayMs?: number;
}): Promise<{ bmc: RedfishBmc; nodes: { id: string; host: string; port: number; system: MemorySystem }[] }> {
  const systems = Array.from({ length: o.count }, (_, i) => ({ id: `node-${i}`, backend: new MemorySystem(o.initial ?? 'Off') }));
  const bmc = await RedfishBmc.create({
    systems,
    users: [{ name: o.user, password: o.password }],
    ...(o.tls ? { tls: o.tls } : {}),
    ...(o.workDir ? { workDir: o.workDir } : {}),
    ...(o.sessions === undefined ? {} : { sessions: o.sessions }),
    ...(o.responseDelayMs === undefined ? {} : { responseDelayMs: o.responseDelayMs }),
  });
  const nodes = [];
  try {
    for (const [i, s] of systems.entries()) {
      const l = await bmc.listen({ host: o.host ?? '127.0.0.1', port: o.basePort ? o.basePort + i : 0, systems: [s.id] });
      nodes.push({ id: s.id, host: l.host, port: l.port, system: s.backend });
    }
  } catch (e) {
    await bmc.close();
    throw e;
  }
  return { bmc, nodes };
}
