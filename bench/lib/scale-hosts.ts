// The installed hosts bench:scale and bench/lib/discover-in-process.ts put in the store before they
// measure: `count` compute hosts, 250 to a rack from rack 1 (compute-<rack>-<rank>), installed,
// with the caller's MAC and address plan, written through the store API in one transaction.
import type { Store } from '../../src/store/index.js';

export async function addInstalledHosts(
  store: Store,
  count: number,
  plan: { mac: (i: number) => string; ip: (i: number) => string; subnet: string },
): Promise<void> {
  await store.transaction(async (tx) => {
    for (let i = 0; i < count; i++) {
      const rack = 1 + Math.floor(i / 250);
      await tx.hosts.add({
        name: `compute-${rack}-${i % 250}`,
        appliance: 'compute',
        rack,
        rank: i % 250,
        bootAction: 'install',
        state: 'installed',
        interfaces: [{ mac: plan.mac(i), ip: plan.ip(i), subnet: plan.subnet, device: 'eth0' }],
      });
    }
  });
}
