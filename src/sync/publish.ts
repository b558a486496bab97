// `netroot sync users`: collect, number, sign, store. The serial is max(previous + 1, Unix seconds
// now): strictly increasing while the state directory lives, and still ahead of what every node has
// applied if the state directory is restored from an older backup (a node refuses a serial at or
// below its last one). Two publishes at the same moment may pick one serial; both carry what the
// files held then, and a node applies the first it sees.
import { collect, type CollectOptions } from './collect.js';
import { readCurrent, writeCurrent } from './current.js';
import { encodeEnvelope, encodePayload, type SyncPayload } from './format.js';
import type { SyncKeys } from './keys.js';
import { UserError } from '../errors.js';

export interface PublishOptions extends Omit<CollectOptions, 'maxFileBytes'> {
  stateDir: string;
  keys: SyncKeys;
  maxPayloadBytes: number;
  dryRun?: boolean;
  /** Epoch ms (tests inject one). */
  now?: () => number;
}

export interface PublishResult {
  serial: number;
  created: string;
  users: string[];
  groups: number;
  shadow: number;
  hosts: number;
  mungeKey: boolean;
  bytes: number;
  notes: string[];
  dryRun: boolean;
}

export async function publish(o: PublishOptions): Promise<PublishResult> {
  const c = await collect({ ...o, maxFileBytes: o.maxPayloadBytes });
  const now = (o.now ?? Date.now)();
  const previous = readCurrent(o.stateDir, o.maxPayloadBytes)?.serial ?? 0;
  const p: SyncPayload = {
    serial: Math.max(previous + 1, Math.floor(now / 1000)),
    created: new Date(Math.floor(now / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
    minUid: o.minUid,
    maxUid: o.maxUid,
    passwd: c.passwd,
    group: c.group,
    shadow: c.shadow,
    hosts: c.hosts,
    mungeKey: c.mungeKey,
  };
  const payload = encodePayload(p);
  const envelope = encodeEnvelope(payload, o.keys.sign(payload));
  if (envelope.length > o.maxPayloadBytes)
    throw new UserError('E_SYNC_TOO_LARGE', `the payload would be ${envelope.length} bytes, more than sync.maxPayloadBytes (${o.maxPayloadBytes})`);
  if (!o.dryRun) await writeCurrent(o.stateDir, envelope);
  return {
    serial: p.serial,
    created: p.created,
    users: c.passwd.map((l) => l.split(':')[0]!),
    groups: c.group.length,
    shadow: c.shadow.length,
    hosts: c.hosts.length,
    mungeKey: c.mungeKey !== null,
    bytes: envelope.length,
    notes: c.notes,
    dryRun: o.dryRun === true,
  };
}
