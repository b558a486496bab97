// The insert-ethers engine: turns an unknown MAC into a named host with an address. It is the host
// service (host-service.ts: plugins with rollback, remove, replace, set) plus insert-ethers' naming.
// Contracts:
//  - one MAC never becomes two hosts; two machines added at once never share a name or an address:
//    the name/rank/address are chosen and inserted in one store transaction (SQLite: BEGIN IMMEDIATE;
//    PostgreSQL: under the store's advisory write lock, shared by every server), and the
//    database's UNIQUE constraints are the final word (a lost race is retried, never duplicated);
//  - `added` runs as one unit (HostService.provision): on a plugin failure or time-out, the plugins
//    that ran are undone (their `removed`, reverse order), the host is removed, and the reason is
//    recorded and thrown.
import type { Host } from '../store/index.js';
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

export class DiscoveryEngine extends HostService {
  /** insert-ethers (a DHCP discovery, `--mac`, `POST /api/v1/hosts` without a name). */
  async add(d: Discovery, o: InsertOptions): Promise<AddedHost> {
    const mac = mustMac(d.mac);
    if (o.ipaddr !== undefined) mustIPv4(o.ipaddr, 'ipaddr');
    if (o.hostname !== undefined) validHostname(o.hostname, 'hostname');
    let host: Host | undefined;
    const mark = this.addingMark();
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
          const ip =
            o.ipaddr ??
            nextFreeAddress(
              { network: this.config.network.privateNetwork, baseip: o.baseip, inc: o.inc },
              new Set([...(await tx.hosts.usedIps()), this.config.network.frontendAddress]),
            );
          const h = await tx.hosts.add({
            name,
            appliance: appliance.name,
            rack,
            rank,
            bootAction: 'local',
            state: 'discovered',
            interfaces: [{ mac, ip, subnet: this.config.network.privateNetwork, device: d.interfaceName ?? 'eth0' }],
          });
          await tx.events.append({
            kind: 'host.added',
            host: name,
            mac,
            detail: { arch: d.arch ?? null, vendorClass: d.vendorClass ?? null, interface: d.interfaceName ?? null, giaddr: d.giaddr ?? null, ip },
          });
          if (mark) await tx.attributes.set({ scope: 'host', target: name, name: ADDING_ATTRIBUTE, value: mark });
          return h;
        });
      } catch (e) {
        if (attempt < 5 && lostRace(e, o)) continue;
        throw e;
      }
    }
    return this.provision(host, mark);
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
