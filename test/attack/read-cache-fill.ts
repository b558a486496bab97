// Issue #21 (PostgreSQL lost while serving): the frontend remembers its reads to keep known hosts
// booting through an outage (src/store/postgres.ts, `store.readCacheEntries`). Every lookup an
// unauthenticated client can make with a key of its choosing is such a read: a boot script for a
// MAC (`GET /boot/ipxe/<mac>`), a kickstart for a name (`GET /install/kickstart/<name>`), each a
// fresh key. Unbounded, that is memory for the asking; bounded but shared, it pushes the known
// hosts' answers out, and the next outage finds nothing to boot them with.
//
// Behaviour (scale 1: 4 clients, round-robin over the source addresses): each asks, one request at
// a time and in a loop, for the boot script of a MAC never used before and the kickstart of a name
// never used before (locally administered MACs 02:…, names `intruder-<n>`), so every request is a
// new read. Any answer (an unknown MAC's "not registered yet" script, 404, 429, a reset) is
// followed by the next request at once.
import { request } from 'node:http';
import type { Attack, RunningAttack } from './types.js';

export const CLIENTS = 4;

/** The n-th distinct locally administered MAC (02:…): never a real NIC's. */
export function intruderMac(n: number): string {
  const b = [0x02, (n >>> 32) & 0xff, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export const attack: Attack = {
  name: 'read-cache-fill',
  what: 'issue #21: 4 clients asking, in a loop, for boot scripts of MACs and kickstarts of names never used before, to fill the store read cache and push the known hosts out of it',
  async start(t, opts): Promise<RunningAttack> {
    const clients = Math.max(1, Math.round(CLIENTS * (opts?.scale ?? 1)));
    const sources: (string | undefined)[] = t.sourceAddresses && t.sourceAddresses.length > 0 ? [...t.sourceAddresses] : [undefined];
    const st = { requests: 0, answers: 0, ok: 0, notFound: 0, refused: 0, errors: 0 };
    const open = new Set<import('node:http').ClientRequest>();
    let stopped = false;
    let n = 0;
    const one = (from: string | undefined): Promise<void> =>
      new Promise((resolve) => {
        const k = n++;
        const path = k % 2 === 0 ? `/boot/ipxe/${intruderMac(k)}` : `/install/kickstart/intruder-${k}`;
        st.requests++;
        const req = request({ host: t.host, port: t.httpPort, path, agent: false, ...(from ? { localAddress: from } : {}) }, (res) => {
          st.answers++;
          if (res.statusCode === 200) st.ok++;
          else if (res.statusCode === 404) st.notFound++;
          else if ((res.statusCode ?? 0) >= 400) st.refused++;
          res.resume();
          res.on('end', resolve);
          res.on('error', resolve);
        });
        open.add(req);
        req.on('close', () => open.delete(req));
        req.on('error', () => {
          st.errors++;
          resolve();
        });
        req.end();
      });
    const loops = Array.from({ length: clients }, async (_, i) => {
      const from = sources[i % sources.length];
      while (!stopped) await one(from);
    });
    return {
      stats: () => ({ ...st }),
      async stop() {
        stopped = true;
        for (const r of open) r.destroy();
        await Promise.all(loops);
      },
    };
  },
};
