// The insert-ethers engine: turns an unknown MAC into a named host with an address. It is the host
// service (host-service.ts: plugins with rollback, remove, replace, set) plus insert-ethers' naming.
// Contracts:
//  - one MAC never becomes two hosts; two machines added at once never share a name or an address:
//    the name/rank/address are chosen and inserted in one store transaction (SQLite: BEGIN IMMEDIATE;
//    PostgreSQL: under the store's advisory write lock, shared by every server), and the
//    database's UNIQUE constraints are the final word (a lost race is retried, never duplicated);
//  - `added` runs as one unit (HostService.provision): on a plugin failure or time-out, the plugins
//    that ran are undone (their `removed`, reverse order), the host is removed, and the reason is
//    recorded and thrown;
//  - `addMany` (the hub's batches) keeps all of the above per machine: one transaction names the
//    whole batch in order, the plugins run over it (HostService.provisionMany), and each machine
//    answers alone (its host or its error); one machine's failure never undoes another's host.
import type { Appliance, Host } from '../store/index.js';
import { mustMac, mustIPv4 } from '../net/address.js';
import { UserError } from '../errors.js';
import { nextFreeAddress } from './addresses.js';
import { ADDING_ATTRIBUTE, HostService, type AddedHost } from './host-service.js';
import { validHostname } from '../validate/hostname.js';

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

/** One machine's answer in a batch: the host it became, or why not. */
export type AddOutcome = { host: AddedHost; error?: undefined } | { host?: undefined; error: Error };

export class DiscoveryEngine extends HostService {
  /** insert-ethers (a DHCP discovery, `--mac`, `POST /api/v1/hosts` without a name). */
  async add(d: Discovery, o: InsertOptions): Promise<AddedHost> {
    const [r] = await this.addMany([d], o);
    if (r!.error) throw r!.error;
    return r!.host;
  }

  /**
   * Names many machines at once (the hub's batch: DISCOVERs that queued while the previous batch
   * ran), in order: one write transaction chooses and inserts every name, rank and address (the
   * used addresses and the rack's highest rank are read once, then advanced locally; under the write
   * lock nothing else can take them), then the plugins run over the batch (provisionMany). Each
   * machine answers alone: a MAC already known (E_MAC_KNOWN), a refused insert (each insert is its
   * own savepoint: it undoes only itself) or a failed plugin (rolled back alone) fails that machine,
   * not the others. A lost race (E_DUPLICATE not on the MAC, with nothing fixed by the operator) is
   * chosen again in a new transaction from fresh reads, up to 5 times. A store failure that is no refusal fails the
   * whole transaction, so every machine of the batch. An explicit `rank` is the first machine's;
   * the next ones take the following ranks (Rocks: --rank applies to the next machine).
   */
  async addMany(ds: readonly Discovery[], o: InsertOptions): Promise<AddOutcome[]> {
    if (o.ipaddr !== undefined) mustIPv4(o.ipaddr, 'ipaddr');
    if (o.hostname !== undefined) validHostname(o.hostname, 'hostname');
    const out: Array<AddOutcome | undefined> = ds.map(() => undefined);
    const macs = ds.map((d, i) => {
      try {
        return mustMac(d.mac);
      } catch (e) {
        out[i] = { error: e as Error };
        return null;
      }
    });
    const inserted: Array<{ index: number; host: Host }> = [];
    // This server's add claim (ADDING_ATTRIBUTE), one for the batch: set with each host's row, so a
    // server that dies before the plugins finish leaves hosts another server finishes.
    const mark = this.addingMark();
    // Each round is one transaction over the machines still to name; a machine that lost a race
    // is named again in the next round (its own transaction, fresh reads), at most 5 more times.
    let todo = ds.map((_, i) => i).filter((i) => macs[i] !== null);
    for (let attempt = 0; todo.length > 0; attempt++) {
      const again: number[] = [];
      await this.store.transaction(async (tx) => {
        let appliance: Appliance | null = null;
        let used: Set<string> | null = null;
        let nextRank: number | null = null;
        // Which MACs are hosts already: one read for the round (each one found is read for its name).
        const hosts = new Set(await tx.hosts.knownMacs(todo.map((i) => macs[i]!)));
        for (const i of todo) {
          const mac = macs[i]!;
          const d = ds[i]!;
          let rowWritten = false;
          try {
            const known = hosts.has(mac) ? await tx.hosts.byMac(mac) : null;
            if (known) throw new UserError('E_MAC_KNOWN', `${mac} is already ${known.name}`, { where: 'mac' });
            appliance ??= await tx.appliances.get(o.appliance);
            if (!appliance) throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(o.appliance)}`, { where: 'appliance' });
            const basename = o.basename ?? appliance.basename;
            const rack = o.rack ?? 0;
            used ??= new Set([...(await tx.hosts.usedIps()), this.config.network.frontendAddress]);
            nextRank ??= o.rank ?? (await tx.hosts.maxRank(basename, rack)) + 1;
            const rank: number = nextRank;
            const name = o.hostname ?? `${basename}-${rack}-${rank}`;
            const ip = o.ipaddr ?? nextFreeAddress({ network: this.config.network.privateNetwork, baseip: o.baseip, inc: o.inc }, used);
            const h = await tx.hosts.add({
              name,
              appliance: appliance.name,
              rack,
              rank,
              bootAction: 'local',
              state: 'discovered',
              interfaces: [{ mac, ip, subnet: this.config.network.privateNetwork, device: d.interfaceName ?? 'eth0' }],
            });
            rowWritten = true;
            hosts.add(mac);
            await tx.events.append({
              kind: 'host.added',
              host: name,
              mac,
              detail: { arch: d.arch ?? null, vendorClass: d.vendorClass ?? null, interface: d.interfaceName ?? null, giaddr: d.giaddr ?? null, ip },
            });
            if (mark) await tx.attributes.set({ scope: 'host', target: name, name: ADDING_ATTRIBUTE, value: mark });
            used.add(ip);
            nextRank = rank + 1;
            inserted.push({ index: i, host: h });
          } catch (e) {
            // A failure after the row was written would leave a host without its event or
            // plugins, and anything but a refusal is the database failing: the whole
            // transaction goes.
            if (!(e instanceof UserError) || rowWritten) throw e;
            if (attempt < 5 && lostRace(e, o)) again.push(i);
            else out[i] = { error: e };
          }
        }
      });
      todo = again;
    }
    const provisioned = await this.provisionMany(
      inserted.map((x) => x.host),
      mark,
    );
    inserted.forEach(({ index }, k) => {
      const r = provisioned[k]!;
      out[index] = r instanceof Error ? { error: r } : { host: r };
    });
    return out.map((r) => r!);
  }
}

/**
 * Whether an insert failed because another writer took the name, rank or address this one chose
 * (the store's E_DUPLICATE, whose `where` names the column): choosing again can succeed. Not when
 * the operator fixed the name, address or rank (choosing again picks the same), nor for the MAC
 * (`where` 'mac': the machine is already a host, and retrying would make it two).
 */
export function lostRace(e: unknown, o: Pick<InsertOptions, 'hostname' | 'ipaddr' | 'rank'>): boolean {
  return e instanceof UserError && e.code === 'E_DUPLICATE' && e.where !== 'mac' && o.hostname === undefined && o.ipaddr === undefined && o.rank === undefined;
}
