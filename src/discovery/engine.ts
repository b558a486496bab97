// The insert-ethers engine: turns an unknown MAC into a named host with an address and runs the
// plugins. Contracts:
//  - one MAC never becomes two hosts; two machines added at once never share a name or an address:
//    the name/rank/address are chosen and inserted in one BEGIN IMMEDIATE transaction, and the
//    database's UNIQUE constraints are the final word (a lost race is retried, never duplicated);
//  - `added` runs as one unit: on a plugin failure or time-out, the plugins that ran are undone
//    (their `removed`, reverse order), the host is removed, and the reason is recorded and thrown.
import type { Config } from '../config/index.js';
import type { Host, Store } from '../store/index.js';
import type { Logger } from '../log/logger.js';
import { mustMac, mustIPv4 } from '../net/address.js';
import { NetrootError, UserError } from '../errors.js';
import { nextFreeAddress } from './addresses.js';
import { withTimeout, type Plugin, type PluginContext } from './plugin.js';

export interface InsertOptions {
  appliance: string;
  basename?: string | undefined;
  rack?: number | undefined;
  rank?: number | undefined;
  hostname?: string | undefined;
  ipaddr?: string | undefined;
  baseip?: string | undefined;
  inc?: number | undefined;
}

export interface Discovery {
  mac: string;
  arch?: number | null;
  vendorClass?: string | null;
  interfaceName?: string | null;
  giaddr?: string | null;
}

const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export class DiscoveryEngine {
  private readonly ctx: PluginContext;

  constructor(
    private readonly store: Store,
    private readonly config: Config,
    readonly plugins: readonly Plugin[],
    private readonly logger: Logger,
    private readonly pluginTimeoutMs = 60_000,
  ) {
    this.ctx = { store, config, logger };
  }

  async add(d: Discovery, o: InsertOptions): Promise<Host> {
    const mac = mustMac(d.mac);
    if (o.ipaddr !== undefined) mustIPv4(o.ipaddr, 'ipaddr');
    if (o.hostname !== undefined && !HOSTNAME.test(o.hostname)) throw new UserError('E_BAD_HOSTNAME', `not a valid host name: ${JSON.stringify(o.hostname)}`, { where: 'hostname' });
    let host: Host | undefined;
    for (let attempt = 0; host === undefined; attempt++) {
      try {
        host = await this.store.transaction(async (tx) => {
          const known = await tx.hosts.byMac(mac);
          if (known) throw new UserError('E_MAC_KNOWN', `${mac} is already ${known.name}`, { where: 'mac' });
          const appliance = await tx.appliances.get(o.appliance);
          if (!appliance) throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(o.appliance)}`, { where: 'appliance' });
          const basename = o.basename ?? appliance.basename;
          const rack = o.rack ?? 0;
          const rank = o.rank ?? (await tx.hosts.maxRank(basename, rack)) + 1;
          const name = o.hostname ?? `${basename}-${rack}-${rank}`;
          const ip = o.ipaddr ?? nextFreeAddress({ network: this.config.network.privateNetwork, baseip: o.baseip, inc: o.inc }, new Set([...(await tx.hosts.usedIps()), this.config.network.frontendAddress]));
          const h = await tx.hosts.add({
            name, appliance: appliance.name, rack, rank, bootAction: 'local', state: 'discovered',
            interfaces: [{ mac, ip, subnet: this.config.network.privateNetwork, device: d.interfaceName ?? 'eth0' }],
          });
          await tx.events.append({ kind: 'host.added', host: name, mac, detail: { arch: d.arch ?? null, vendorClass: d.vendorClass ?? null, interface: d.interfaceName ?? null, giaddr: d.giaddr ?? null, ip } });
          return h;
        });
      } catch (e) {
        // Another process won the same rank/address between our read and insert: choose again.
        if (e instanceof UserError && e.code === 'E_DUPLICATE' && attempt < 5 && !/MAC/.test(e.message) && o.hostname === undefined && o.ipaddr === undefined && o.rank === undefined) continue;
        throw e;
      }
    }
    await this.runAdded(host);
    return (await this.store.hosts.get(host.name))!;
  }

  private async runAdded(host: Host): Promise<void> {
    const done: Plugin[] = [];
    for (const p of this.plugins) {
      if (!p.added) continue;
      try {
        await withTimeout(`plugin ${p.name}: added(${host.name})`, this.pluginTimeoutMs, () => p.added!(host, this.ctx));
        done.push(p);
      } catch (e) {
        const reason = `plugin ${p.name} failed: ${(e as Error).message}`;
        this.logger.error('insert-ethers: plugin failed, rolling back', { host: host.name, plugin: p.name, error: e });
        const undo: string[] = [];
        for (const q of [...done].reverse()) {
          try {
            await withTimeout(`plugin ${q.name}: removed(${host.name})`, this.pluginTimeoutMs, () => q.removed?.(host, { ...this.ctx, keepVolume: false, rollback: true }) ?? Promise.resolve());
          } catch (u) {
            undo.push(`plugin ${q.name} could not undo: ${(u as Error).message}`);
          }
        }
        if (undo.length === 0) {
          await this.store.transaction(async (tx) => {
            await tx.hosts.remove(host.name);
            await tx.events.append({ kind: 'host.add_failed', host: host.name, mac: host.interfaces[0]?.mac ?? null, detail: { reason } });
          });
        } else {
          // Something outside the database could not be undone: keep the host, marked failed, so
          // the operator sees what is left (insert-ethers --remove cleans it up).
          await this.store.hosts.update(host.name, { state: 'failed', stateDetail: [reason, ...undo].join('; ') });
          await this.store.events.append({ kind: 'host.add_failed', host: host.name, detail: { reason, undo } });
        }
        throw new NetrootError('E_PLUGIN_FAILED', `${host.name} was not added: ${reason}${undo.length ? ` (${undo.join('; ')})` : ''}`, { user: true, cause: e });
      }
    }
  }

  /** insert-ethers --remove: plugins undo their work (reverse order), then the host goes. */
  async remove(name: string, opts: { keepVolume?: boolean } = {}): Promise<void> {
    const host = await this.store.hosts.get(name);
    if (!host) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`, { where: 'host' });
    for (const p of [...this.plugins].reverse()) {
      if (!p.removed) continue;
      try {
        await withTimeout(`plugin ${p.name}: removed(${name})`, this.pluginTimeoutMs, () => p.removed!(host, { ...this.ctx, keepVolume: opts.keepVolume ?? false }));
      } catch (e) {
        throw new NetrootError('E_PLUGIN_FAILED', `${name} was not removed: plugin ${p.name} failed: ${(e as Error).message}`, { user: true, cause: e });
      }
    }
    await this.store.transaction(async (tx) => {
      await tx.hosts.remove(name);
      await tx.events.append({ kind: 'host.removed', host: name, detail: { keepVolume: opts.keepVolume ?? false } });
    });
  }

  /** insert-ethers --replace: a new MAC takes the host's name, rack, rank and address (and its volume). */
  async replace(name: string, newMac: string): Promise<Host> {
    const mac = mustMac(newMac);
    return this.store.transaction(async (tx) => {
      const host = await tx.hosts.get(name);
      if (!host) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`, { where: 'host' });
      const other = await tx.hosts.byMac(mac);
      if (other) throw new UserError('E_MAC_KNOWN', `${mac} is already ${other.name}`, { where: 'mac' });
      const old = host.interfaces[0];
      if (old) await tx.hosts.removeInterface(old.mac);
      await tx.hosts.addInterface(name, { mac, ip: old?.ip ?? null, subnet: old?.subnet ?? this.config.network.privateNetwork, device: old?.device ?? 'eth0' });
      await tx.events.append({ kind: 'host.replaced', host: name, mac, detail: { oldMac: old?.mac ?? null } });
      return (await tx.hosts.get(name))!;
    });
  }

  async update(): Promise<void> {
    for (const p of this.plugins) if (p.update) await withTimeout(`plugin ${p.name}: update()`, this.pluginTimeoutMs, () => p.update!(this.ctx));
  }

  async done(): Promise<void> {
    for (const p of this.plugins) if (p.done) await withTimeout(`plugin ${p.name}: done()`, this.pluginTimeoutMs, () => p.done!(this.ctx));
  }
}
