// What both store implementations (sqlite.ts, postgres.ts) share: the row shapes their SELECTs
// answer and their mapping to the interface's types, the operator-facing texts of uniqueness
// violations, and each repository method's transaction mode. Both schemas keep the same column
// names and types (TEXT timestamps in ISO form, INTEGER 0/1 flags), so one mapping serves both.
import type {
  Appliance,
  ApplianceRepo,
  AttributeRepo,
  BmcRecord,
  BmcRepo,
  BootAction,
  BootRepo,
  EventRepo,
  Host,
  HostPatch,
  HostRepo,
  HostState,
  NetInterface,
  NewHost,
  ServerRecord,
  ServerRepo,
  StoredEvent,
  TokenRepo,
} from './types.js';

export interface HostRow {
  id: number;
  name: string;
  appliance: string;
  rack: number;
  rank: number;
  os: string;
  arch: string;
  boot_action: string;
  state: string;
  state_detail: string | null;
  created_at: string;
}

/** Hosts with their appliance's name; append `WHERE …` (placeholders are the dialect's). */
export const HOST_SELECT = `SELECT h.id, h.name, a.name AS appliance, h.rack, h.rank, h.os, h.arch, h.boot_action, h.state, h.state_detail, h.created_at
  FROM hosts h JOIN appliances a ON a.id = h.appliance_id`;
/** Every host of an appliance (or all with a NULL pair of arguments), in host-list order. */
export const HOST_LIST_ORDER = 'ORDER BY h.basename, h.rack, h.rank, h.name';

export function toHost(r: HostRow, interfaces: NetInterface[]): Host {
  return {
    name: r.name,
    appliance: r.appliance,
    rack: r.rack,
    rank: r.rank,
    os: r.os,
    arch: r.arch,
    bootAction: r.boot_action as BootAction,
    state: r.state as HostState,
    stateDetail: r.state_detail,
    createdAt: r.created_at,
    interfaces,
  };
}

/** The columns of a new host row and their values, in that order (placeholders are the dialect's). */
export const HOST_INSERT_COLUMNS = 'name, appliance_id, basename, rack, rank, os, arch, boot_action, state, created_at';
export function hostInsertValues(h: NewHost, a: { id: number; basename: string }): unknown[] {
  return [
    h.name,
    a.id,
    a.basename,
    h.rack,
    h.rank,
    h.os ?? 'linux',
    h.arch ?? 'x86_64',
    h.bootAction ?? 'install',
    h.state ?? 'discovered',
    new Date().toISOString(),
  ];
}

/** The HostPatch fields an update writes as they are, with their columns (appliance is looked up). */
export const HOST_PATCH_COLUMNS: ReadonlyArray<readonly [keyof HostPatch, string]> = [
  ['rack', 'rack'],
  ['rank', 'rank'],
  ['os', 'os'],
  ['arch', 'arch'],
  ['bootAction', 'boot_action'],
  ['state', 'state'],
  ['stateDetail', 'state_detail'],
];

/** An interface after `updateInterface(mac, p)`: undefined keeps a field, null clears ip or subnet. */
export function patchedInterface(cur: NetInterface, p: Partial<NetInterface>): NetInterface {
  return {
    mac: p.mac ?? cur.mac,
    ip: p.ip === undefined ? cur.ip : p.ip,
    subnet: p.subnet === undefined ? cur.subnet : p.subnet,
    device: p.device ?? cur.device,
  };
}

/** Groups `host_id`-tagged interface rows (already in insertion order) by host. */
export function interfacesByHost(rows: ReadonlyArray<NetInterface & { host_id: number }>): Map<number, NetInterface[]> {
  const byHost = new Map<number, NetInterface[]>();
  for (const { host_id, ...i } of rows) {
    const list = byHost.get(host_id);
    if (list) list.push(i);
    else byHost.set(host_id, [i]);
  }
  return byHost;
}

export interface ApplianceRow {
  name: string;
  basename: string;
  graph: string;
  root_node: string;
  discoverable: number;
}
export function toAppliance(r: ApplianceRow): Appliance {
  return { name: r.name, basename: r.basename, graph: r.graph, rootNode: r.root_node, discoverable: r.discoverable === 1 };
}

export interface BmcRow {
  host: string;
  driver: string;
  address: string;
  port: number | null;
  user: string;
  secret: string;
  insecure_tls: number;
  system_id: string | null;
}
/** `user` is quoted: a reserved word in PostgreSQL (SQLite reads "user" as the column too). */
export const BMC_SELECT =
  'SELECT h.name AS host, b.driver, b.address, b.port, b."user" AS "user", b.secret, b.insecure_tls, b.system_id FROM bmcs b JOIN hosts h ON h.id = b.host_id';
export function toBmcRecord(r: BmcRow): BmcRecord {
  return {
    host: r.host,
    driver: r.driver as BmcRecord['driver'],
    address: r.address,
    port: r.port,
    user: r.user,
    secret: r.secret,
    insecureTls: r.insecure_tls === 1,
    systemId: r.system_id,
  };
}

export interface EventRow {
  id: number;
  at: string;
  kind: string;
  host: string | null;
  mac: string | null;
  detail: string;
}
export function toEvent(r: EventRow): StoredEvent {
  return { ...r, detail: JSON.parse(r.detail) as Record<string, unknown> };
}

/** The texts of constraint violations (UserError E_DUPLICATE naming the field): the same on both backends. */
export const DUPLICATE = {
  mac: (mac: string, holder: string | undefined) => `MAC ${mac} is already assigned to ${holder ?? 'another host'}`,
  ip: (ip: string | null, holder: string | undefined) => `IP ${ip} is already assigned to ${holder ?? 'another host'}`,
  hostName: (name: string) => `host name ${name} is already taken`,
  rackRank: (rack: number, rank: number, basename: string) => `rack ${rack} rank ${rank} is already taken for ${basename}`,
  rackRankUpdate: 'rack/rank already taken',
  outOfRange: 'value out of range',
  appliance: (name: string) => `appliance ${name} already exists`,
  bmc: 'driver or port rejected by the database',
};

/**
 * Each repository method and how it runs outside a transaction: 'read' in a snapshot that takes no
 * write lock, 'write' under the store's write lock. `satisfies` makes a method missing here, or
 * named here but not in the interface, a compile error. A new repository method is added here.
 */
export type Modes<I> = Record<keyof I, 'read' | 'write'>;
export const HOST_MODES = {
  add: 'write',
  get: 'read',
  byMac: 'read',
  byIp: 'read',
  list: 'read',
  update: 'write',
  remove: 'write',
  addInterface: 'write',
  removeInterface: 'write',
  updateInterface: 'write',
  maxRank: 'read',
  usedIps: 'read',
  states: 'read',
  knownMacs: 'read',
} as const satisfies Modes<HostRepo>;
export const APPLIANCE_MODES = { add: 'write', get: 'read', list: 'read', update: 'write', remove: 'write' } as const satisfies Modes<ApplianceRepo>;
export const ATTRIBUTE_MODES = { set: 'write', setMany: 'write', unset: 'write', list: 'read' } as const satisfies Modes<AttributeRepo>;
export const EVENT_MODES = { append: 'write', list: 'read' } as const satisfies Modes<EventRepo>;
export const BOOT_MODES = { get: 'read', put: 'write', remove: 'write' } as const satisfies Modes<BootRepo>;
export const TOKEN_MODES = { issue: 'write', find: 'read', consume: 'write' } as const satisfies Modes<TokenRepo>;
export const BMC_MODES = { get: 'read', set: 'write', remove: 'write', list: 'read' } as const satisfies Modes<BmcRepo>;
export const SERVER_MODES = { beat: 'write', list: 'read', remove: 'write' } as const satisfies Modes<ServerRepo>;

export interface ServerRow {
  id: string;
  host_name: string;
  addresses: string;
  pid: number;
  version: string;
  started_at: string;
  last_beat: string;
  age: number;
}
/** The columns list() selects after the dialect's `age` expression. */
export const SERVER_COLUMNS = 'id, host_name, addresses, pid, version, started_at, last_beat';
export function toServer(r: ServerRow, windowSeconds: number): ServerRecord {
  const age = Math.max(0, Number(r.age));
  return {
    id: r.id,
    hostName: r.host_name,
    addresses: JSON.parse(r.addresses) as string[],
    pid: r.pid,
    version: r.version,
    startedAt: r.started_at,
    lastBeat: r.last_beat,
    ageSeconds: Math.round(age * 1000) / 1000,
    live: age <= windowSeconds,
  };
}
/** A token's lifetime as a decimal for the database's date arithmetic (a positive, finite number of seconds). */
export function ttlSecondsText(ttlSeconds: number): string {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0) throw new RangeError(`token lifetime must be a non-negative number of seconds, not ${ttlSeconds}`);
  return ttlSeconds.toFixed(3);
}

/** Live first (by age against the window), then oldest start first. */
export function serverOrder(a: ServerRecord, b: ServerRecord): number {
  return Number(b.live) - Number(a.live) || a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id);
}

/** The events log's default bound (config events.maxRows). */
export const DEFAULT_MAX_EVENTS = 100_000;
/** Rows one append prunes at most: a large backlog (a lowered maxRows) drains over the next appends
 * instead of holding the write lock for one long DELETE. */
export const PRUNE_BATCH = 1000;
/** The most events one list answers. */
export const EVENT_LIST_MAX = 10000;
