// The netroot.* XML-RPC methods nodes call (mounted at /RPC2):
//   netroot.installComplete(token, facts)  %post: facts.root_uuid → overlay + kernel args, flip to os;
//                                          facts.boot = "local" (a disked node) → flip to local
//   netroot.reportStatus(credential, state[, facts])  installer/node progress for the insert-ethers
//                                          screen. credential: the install token, only while unspent
//                                          (before installComplete), any state but `installed`; or,
//                                          once installed, `sync:<the node's sync secret>` (src/sync
//                                          nodeBySecret: that host's, from that host's own address),
//                                          state `booted` only (installing/failed belong to an install
//                                          and its token: a node's secret never marks it failed).
//                                          facts {cpus, memory_mb} (ints, bounded) become the host
//                                          attributes `cpus`, `memory_mb` through the host service's
//                                          setFacts (unchanged: nothing runs; changed: the plugins'
//                                          `changed` run, slurm.conf lists them and slurmctld is told;
//                                          a plugin failure rolls them back and the call is the fault
//                                          E_FACTS_NOT_APPLIED, stating nothing else). A node reports
//                                          them at every boot (roles/sync netroot-report.service), a
//                                          golden clone too; facts {scratch_failed_disk,
//                                          scratch_failed_reason} (strings, roles/cluster/scratch) go
//                                          into the `host.status` event only
//   netroot.getBootConfig(host)            read-only; no secret; only the node itself or the frontend
// Every refusal is a fault saying why; a refused call changes nothing.
import type { RpcDispatcher } from '../rpc/dispatcher.js';
import type { XmlRpcValue } from '../rpc/types.js';
import { expectArity, stringParam, structParam } from '../rpc/params.js';
import type { Repos, Store } from '../store/index.js';
import type { InstallTokens } from '../boot/install-tokens.js';
import type { DisklessRegenerator } from '../boot/diskless.js';
import { NetrootError, UserError } from '../errors.js';

export interface NetrootMethodDeps {
  store: Store;
  tokens: InstallTokens;
  regenerator: DisklessRegenerator;
  /** Wakes insert-ethers screens after a state change. */
  changed?: () => void;
  /**
   * Stores reported facts as host attributes through the host service (HostService.setFacts: its
   * plugins' `changed` hooks run when a value changed; a plugin failure rolls them back, E_PLUGIN_FAILED).
   */
  setFacts?: (host: string, attributes: Record<string, string>) => Promise<unknown>;
  /**
   * The host whose sync secret `secret` is, when the call comes from that host's address
   * (src/sync nodeBySecret); null otherwise. Absent: `sync:` credentials are refused.
   */
  nodeBySecret?: (from: string, secret: string) => Promise<string | null>;
}

/** reportStatus's credential prefix for the node's sync secret (an install token never has a colon). */
export const SYNC_CREDENTIAL_PREFIX = 'sync:';

/** The facts reportStatus takes: XML-RPC ints, bounded (src/cluster/slurm-conf.ts MAX_*). */
const FACTS: Record<string, { attribute: string; max: number }> = {
  cpus: { attribute: 'cpus', max: 65_536 },
  memory_mb: { attribute: 'memory_mb', max: 1 << 30 },
};

/** The facts that are only recorded in the event (strings, bounded, printable ASCII). */
const NOTES: Record<string, { pattern: RegExp; what: string }> = {
  scratch_failed_disk: { pattern: /^\/dev\/[A-Za-z0-9/_.:+-]{1,120}$/, what: 'a /dev path of at most 125 characters' },
  scratch_failed_reason: { pattern: /^[\x20-\x7e]{1,200}$/, what: 'printable ASCII, 1 to 200 characters' },
};

function parseFacts(v: XmlRpcValue | undefined): { attributes: Record<string, string>; notes: Record<string, string> } {
  const attributes: Record<string, string> = {};
  const notes: Record<string, string> = {};
  if (v === undefined) return { attributes, notes };
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Date || Buffer.isBuffer(v))
    throw new UserError('E_RPC_BAD_PARAMS', 'facts must be a struct');
  for (const [k, x] of Object.entries(v as Record<string, XmlRpcValue>)) {
    const note = NOTES[k];
    if (note) {
      if (typeof x !== 'string' || !note.pattern.test(x)) throw new UserError('E_RPC_BAD_PARAMS', `facts.${k} must be ${note.what}`);
      notes[k] = x;
      continue;
    }
    const f = FACTS[k];
    if (!f)
      throw new UserError(
        'E_RPC_BAD_PARAMS',
        `facts: unknown member ${JSON.stringify(k.slice(0, 40))} (known: ${[...Object.keys(FACTS), ...Object.keys(NOTES)].join(', ')})`,
      );
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 1 || x > f.max)
      throw new UserError('E_RPC_BAD_PARAMS', `facts.${k} must be an int from 1 to ${f.max}`);
    attributes[f.attribute] = String(x);
  }
  return { attributes, notes };
}

const STATES = ['installing', 'installed', 'booted', 'failed'] as const;

export function registerNetrootMethods(d: RpcDispatcher, deps: NetrootMethodDeps): void {
  d.register(
    'netroot.installComplete',
    async (params, ctx): Promise<XmlRpcValue> => {
      expectArity(params, 2);
      const token = stringParam(params, 0, 'token', { maxLength: 256 });
      const facts = structParam(params, 1, 'facts');
      const boot = facts['boot'];
      if (boot !== undefined && boot !== 'local') throw new UserError('E_RPC_BAD_PARAMS', 'facts.boot must be "local" when given');
      const rootUuid = facts['root_uuid'];
      if (boot === undefined && typeof rootUuid !== 'string') throw new UserError('E_RPC_BAD_PARAMS', 'facts.root_uuid must be a string');
      const { host, hash } = await deps.tokens.verify(token, ctx.remoteAddress);
      // Spent inside the flip's transaction: a concurrent second call finds it used and changes nothing.
      const spend = async (tx: Repos) => {
        await deps.tokens.verify(token, ctx.remoteAddress, { repos: tx });
        if (!(await tx.tokens.consume(hash))) throw new UserError('E_TOKEN_USED', 'install token was already used');
      };
      if (boot === 'local') {
        // A disked node installed onto its own disk: from now on it boots that disk (Rocks' pxeboot
        // %post did the same), instead of reinstalling at every power-on.
        await deps.store.transaction(async (tx) => {
          await spend(tx);
          await tx.hosts.update(host, { bootAction: 'local', state: 'installed', stateDetail: null });
          await tx.events.append({ kind: 'host.installed', host, detail: { boot: 'local', from: ctx.remoteAddress } });
        });
        deps.changed?.();
        return { host, action: 'local' };
      }
      const record = await deps.regenerator.regenerate(host, rootUuid as string, spend);
      deps.changed?.();
      return { host, action: 'os', kernel: record.kernel, initrd: record.initrd, args: record.args };
    },
    'installComplete(token, {root_uuid} | {boot: "local"}) — regenerates the node\'s diskless boot files and switches it to boot from its iSCSI root; or, for a node installed on its own disk, switches it to boot that disk.',
  );

  d.register(
    'netroot.reportStatus',
    async (params, ctx) => {
      expectArity(params, 2, 3);
      const credential = stringParam(params, 0, 'token', { maxLength: 256 });
      const state = stringParam(params, 1, 'state', { maxLength: 32 });
      if (!(STATES as readonly string[]).includes(state)) throw new UserError('E_RPC_BAD_PARAMS', `state must be one of ${STATES.join(', ')}`);
      const { attributes: facts, notes } = parseFacts(params[2]);
      let host: string;
      let via: 'token' | 'sync-secret' = 'token';
      if (credential.startsWith(SYNC_CREDENTIAL_PREFIX)) {
        // The installed node's own secret. Only `booted`: a node (or whoever replays its calls from
        // its address) cannot mark itself installing or failed; those belong to an install's token.
        if (state !== 'booted')
          throw new UserError('E_RPC_BAD_PARAMS', 'with a node secret, state must be booted (installing and failed need the install token)');
        const found = deps.nodeBySecret ? await deps.nodeBySecret(ctx.remoteAddress, credential.slice(SYNC_CREDENTIAL_PREFIX.length)) : null;
        // One answer for every refusal (unknown address, another node's secret, garbage); never the secret.
        if (found === null) throw new UserError('E_NODE_SECRET', 'node secret is not valid from this address');
        host = found;
        via = 'sync-secret';
      } else {
        // A spent token reports nothing: the install it belonged to is over, and a replayed "failed"
        // must not mark an installed node (E_TOKEN_USED, like installComplete).
        ({ host } = await deps.tokens.verify(credential, ctx.remoteAddress));
      }
      // The facts first: a report whose facts the frontend could not apply is refused whole (the
      // host service rolled them back), so the node's next report (its next boot) tries again.
      if (Object.keys(facts).length) {
        if (!deps.setFacts) throw new UserError('E_RPC_BAD_PARAMS', 'this frontend does not store facts');
        try {
          await deps.setFacts(host, facts);
        } catch (e) {
          if (!(e instanceof NetrootError) || e.code !== 'E_PLUGIN_FAILED') throw e;
          // Why is the operator's (a plugin's output): recorded for them, not told to the node.
          await deps.store.events.append({ kind: 'host.plugin-failed', host, detail: { after: 'reportStatus facts', error: e.message } });
          throw new UserError('E_FACTS_NOT_APPLIED', 'the frontend could not apply these facts; they were not stored (its events say why)');
        }
      }
      // `installed` is only ever set by installComplete, together with the boot files.
      if (state !== 'installed') await deps.store.hosts.update(host, { state: state as (typeof STATES)[number] });
      await deps.store.events.append({
        kind: 'host.status',
        host,
        detail: {
          state,
          from: ctx.remoteAddress,
          ...(via === 'token' ? {} : { via }),
          ...(Object.keys(facts).length ? { facts } : {}),
          ...(notes['scratch_failed_disk'] ? { scratch_failed: { disk: notes['scratch_failed_disk'], reason: notes['scratch_failed_reason'] ?? null } } : {}),
        },
      });
      deps.changed?.();
      return true;
    },
    "reportStatus(token | 'sync:'+node secret, state[, {cpus, memory_mb, scratch_failed_disk, scratch_failed_reason}]) — records installer progress (installing, booted or failed; with the node's sync secret once installed: booted), the node's CPU count and memory in MiB, and a scratch disk that failed.",
  );

  d.register(
    'netroot.getBootConfig',
    async (params, ctx) => {
      expectArity(params, 1);
      const name = stringParam(params, 0, 'host', { maxLength: 63 });
      const host = await deps.store.hosts.get(name);
      const own = host?.interfaces.some((i) => i.ip === ctx.remoteAddress) ?? false;
      if (!host || (!own && ctx.remoteAddress !== '127.0.0.1' && ctx.remoteAddress !== '::1')) {
        // The same answer for "unknown" and "not yours": a node cannot probe for other hosts.
        throw new UserError('E_HOST_NOT_FOUND', `no boot configuration for ${name} here`);
      }
      const rec = await deps.store.boot.get(host.name);
      return { host: host.name, action: host.bootAction, state: host.state, kernel: rec?.kernel ?? null, initrd: rec?.initrd ?? null, args: rec?.args ?? null };
    },
    "getBootConfig(host) — the host's boot action and diskless kernel/initrd/arguments (no secrets).",
  );
}
