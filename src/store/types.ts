// The store's narrow, asynchronous repository interface, with two implementations: SQLite (the
// default, sqlite.ts) and PostgreSQL (store.url, postgres.ts), held to the same contracts by the
// same tests (test/helpers/store-backends.ts).

export const BOOT_ACTIONS = ['install', 'os', 'local', 'sanboot'] as const;
export type BootAction = (typeof BOOT_ACTIONS)[number];

export const HOST_STATES = ['discovered', 'kickstarted', 'installing', 'installed', 'booted', 'failed'] as const;
export type HostState = (typeof HOST_STATES)[number];

export const ATTRIBUTE_SCOPES = ['global', 'os', 'appliance', 'host'] as const;
export type AttributeScope = (typeof ATTRIBUTE_SCOPES)[number];

export interface Appliance {
  name: string;
  /** Host names are <basename>-<rack>-<rank>. */
  basename: string;
  graph: string;
  /** The graph node traversal starts from. */
  rootNode: string;
  /** Whether insert-ethers offers it (Rocks' "public" membership). */
  discoverable: boolean;
}

export interface NetInterface {
  mac: string;
  ip: string | null;
  /** Network in CIDR form, e.g. 10.1.0.0/16. */
  subnet: string | null;
  device: string;
}

export interface Host {
  name: string;
  appliance: string;
  rack: number;
  rank: number;
  os: string;
  arch: string;
  bootAction: BootAction;
  state: HostState;
  /** Why the host is `failed`, or other operator-facing detail. */
  stateDetail: string | null;
  createdAt: string;
  interfaces: NetInterface[];
}

export interface NewHost {
  name: string;
  appliance: string;
  rack: number;
  rank: number;
  os?: string;
  arch?: string;
  bootAction?: BootAction;
  state?: HostState;
  interfaces: NetInterface[];
}

export interface HostPatch {
  appliance?: string;
  rack?: number;
  rank?: number;
  os?: string;
  arch?: string;
  bootAction?: BootAction;
  state?: HostState;
  stateDetail?: string | null;
}

export interface Attribute {
  scope: AttributeScope;
  /** '' for global; the os, appliance or host name otherwise. */
  target: string;
  name: string;
  value: string;
}

export interface StoredEvent {
  id: number;
  at: string;
  kind: string;
  host: string | null;
  mac: string | null;
  detail: Record<string, unknown>;
}

/** What the node boots in `os` mode: written by the install → diskless regeneration. */
export interface BootRecord {
  host: string;
  kernel: string;
  initrd: string;
  overlay: string | null;
  args: string;
  updatedAt: string;
}

export interface HostRepo {
  add(h: NewHost): Promise<Host>;
  get(name: string): Promise<Host | null>;
  byMac(mac: string): Promise<Host | null>;
  byIp(ip: string): Promise<Host | null>;
  list(filter?: { appliance?: string }): Promise<Host[]>;
  update(name: string, patch: HostPatch): Promise<Host>;
  remove(name: string): Promise<void>;
  addInterface(host: string, iface: NetInterface): Promise<void>;
  removeInterface(mac: string): Promise<void>;
  /** Changes one interface in place (its position, so which one is primary, stays); `mac` names it. */
  updateInterface(mac: string, patch: Partial<NetInterface>): Promise<void>;
  /** Highest rank in `rack` among hosts named <basename>-<rack>-*, or -1. */
  maxRank(basename: string, rack: number): Promise<number>;
  /** Every assigned IPv4 address. */
  usedIps(): Promise<string[]>;
  /** The state of each named host that exists (one read for many: an insert-ethers session's view), in no set order. */
  states(names: readonly string[]): Promise<Array<{ name: string; state: HostState }>>;
  /** Which of `macs` are some host's interface (one read for many: the machines a batch must not add), in no set order. */
  knownMacs(macs: readonly string[]): Promise<string[]>;
}

export interface ApplianceRepo {
  add(a: Appliance): Promise<Appliance>;
  get(name: string): Promise<Appliance | null>;
  list(): Promise<Appliance[]>;
  /** Changes the given fields (the name stays); an unknown appliance is E_APPLIANCE_NOT_FOUND. */
  update(name: string, patch: AppliancePatch): Promise<Appliance>;
  remove(name: string): Promise<void>;
}

export type AppliancePatch = Partial<Omit<Appliance, 'name'>>;

export interface AttributeRepo {
  set(a: Attribute): Promise<void>;
  /** `set` for each, in order (the same scope/target/name twice: the last wins), as one write: one
   * statement on PostgreSQL (one round trip under the write lock instead of one per attribute). */
  setMany(list: readonly Attribute[]): Promise<void>;
  unset(scope: AttributeScope, target: string, name: string): Promise<boolean>;
  list(filter?: { scope?: AttributeScope; target?: string }): Promise<Attribute[]>;
}

export interface EventRepo {
  append(e: { kind: string; host?: string | null; mac?: string | null; detail?: Record<string, unknown> }): Promise<StoredEvent>;
  list(filter?: EventFilter): Promise<StoredEvent[]>;
}

/** Which events to list: ids above `sinceId`, of one kind and/or host, at most `limit` (≤ 10000, default 1000),
 * oldest first; with `last`, the newest `limit` that match (still oldest first). */
export interface EventFilter {
  sinceId?: number;
  kind?: string;
  host?: string;
  limit?: number;
  last?: boolean;
}

export interface BootRepo {
  get(host: string): Promise<BootRecord | null>;
  put(r: Omit<BootRecord, 'updatedAt'>): Promise<BootRecord>;
  remove(host: string): Promise<void>;
}

export interface InstallToken {
  host: string;
  /** The address the token is bound to (the node's, when it fetched its kickstart). */
  address: string;
  issuedAt: string;
  expiresAt: string;
  usedAt: string | null;
}

/** A token as found: `expired` is decided by the database's clock (the same for every server). */
export interface FoundToken extends InstallToken {
  expired: boolean;
}

export interface TokenRepo {
  /** Stores a token (by hash) for host, valid for ttlSeconds from now on the DATABASE's clock (not
   * the caller's: a server whose clock is off issues tokens every server honours); earlier unused
   * tokens of that host are revoked. */
  issue(host: string, tokenHash: string, address: string, ttlSeconds: number): Promise<InstallToken>;
  /** The token, with `expired` (expiresAt ≤ the database's now). */
  find(tokenHash: string): Promise<FoundToken | null>;
  /** Marks it used; false when it was already used (a replay). */
  consume(tokenHash: string): Promise<boolean>;
}

/** A host's BMC (src/power/types.ts BmcEntry has the same shape; store/ imports no power/). */
export interface BmcRecord {
  host: string;
  driver: 'ipmi' | 'redfish';
  address: string;
  port: number | null;
  user: string;
  /** A secret like a CHAP secret: every answer masks it. */
  secret: string;
  insecureTls: boolean;
  systemId: string | null;
}

export interface BmcRepo {
  get(host: string): Promise<BmcRecord | null>;
  /** Creates or replaces the host's BMC entry; an unknown host is E_HOST_NOT_FOUND. */
  set(b: BmcRecord): Promise<BmcRecord>;
  /** false when the host had none. */
  remove(host: string): Promise<boolean>;
  /** Every entry, by host name. */
  list(): Promise<BmcRecord[]>;
}

/** What a running `netroot serve` says about itself (its heartbeat row). */
export interface ServerInfo {
  /** Unique per process run (a new one at each start). */
  id: string;
  hostName: string;
  addresses: string[];
  pid: number;
  version: string;
}

export interface ServerRecord extends ServerInfo {
  /** First beat and latest beat, ISO-8601, on the database's clock. */
  startedAt: string;
  lastBeat: string;
  /** Seconds since the latest beat, on the database's clock. */
  ageSeconds: number;
  /** Beat within the window given to list(). */
  live: boolean;
}

export interface ServerRepo {
  /** Registers the server or refreshes its heartbeat, stamped with the DATABASE's clock (a server
   * whose own clock is off still beats on time); startedAt is kept from the first beat. */
  beat(s: ServerInfo): Promise<void>;
  /** Every registered server, live ones (a beat within windowSeconds, database clock) first, then by start. */
  list(windowSeconds: number): Promise<ServerRecord[]>;
  /** false when it was not registered. */
  remove(id: string): Promise<boolean>;
}

export interface Repos {
  readonly hosts: HostRepo;
  readonly appliances: ApplianceRepo;
  readonly attributes: AttributeRepo;
  readonly events: EventRepo;
  readonly boot: BootRepo;
  readonly tokens: TokenRepo;
  readonly bmcs: BmcRepo;
  readonly servers: ServerRepo;
}

export interface Store extends Repos {
  /** Runs fn in one transaction: all of it is written, or (on throw) none of it. */
  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T>;
  /**
   * Readiness (/readyz): commits a tiny write, waiting at most waitMs for another writer's lock;
   * rejects when the store cannot take writes (locked, read-only, disk full, closed).
   */
  probeWritable(waitMs: number): Promise<void>;
  close(): Promise<void>;
}
