// Two CLI processes and the daemon write the same database at once and no row is lost: each child
// runs `netroot host add` + `netroot attr set` through the real CLI 40 times while this process,
// standing in for the daemon with its own long-lived store, keeps appending events and updating
// host state in transactions (as the HTTP/discovery code does) until both children exit.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tempStateDir } from '../helpers/tmp.js';
import { forEachBackend } from '../helpers/store-backends.js';

const PER_CHILD = 40;

forEachBackend('two CLI writers + the daemon at once: every host, attribute and event is there', async (b) => {
  // SQLite: the state directory's netroot.db; PostgreSQL: the children's CLI gets store.url.
  const dir = b.name === 'sqlite' ? b.target.replace(/\/netroot\.db$/, '') : tempStateDir('nrt-conc-');
  const url = b.name === 'postgres' ? [b.target] : [];
  const daemon = await b.open();
  try {
    let running = 2;
    const child = (rack: number) =>
      new Promise<number>((resolve, reject) => {
        const p = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/cli-writer.ts', dir, 'compute', String(PER_CHILD), String(rack), ...url], {
          stdio: ['ignore', 'inherit', 'inherit'],
        });
        p.on('error', reject);
        p.on('exit', (code) => {
          running--;
          resolve(code ?? -1);
        });
      });
    const children = Promise.all([child(1), child(2)]);
    let daemonEvents = 0;
    const kickstarted = new Set<string>();
    const end = performance.now() + 120_000;
    while (running > 0) {
      assert.ok(performance.now() < end, `the two CLI writers did not end within 120 s (${running} running)`);
      await daemon.events.append({ kind: 'daemon.tick', detail: { n: daemonEvents } });
      daemonEvents++;
      const hosts = await daemon.hosts.list();
      const fresh = hosts.find((h) => h.state === 'discovered');
      if (fresh) {
        await daemon.transaction(async (tx) => {
          await tx.hosts.update(fresh.name, { state: 'kickstarted' });
          await tx.events.append({ kind: 'host.kickstarted', host: fresh.name });
        });
        kickstarted.add(fresh.name);
      }
      // fixed delay: the daemon's pace while the CLI writers run (the input); the loop ends with them.
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.deepEqual(await children, [0, 0]);
    assert.ok(daemonEvents > 0 && kickstarted.size > 0, `the daemon wrote while the children ran (${daemonEvents} ticks, ${kickstarted.size} updates)`);
    const hosts = await daemon.hosts.list();
    assert.equal(hosts.length, 2 * PER_CHILD);
    assert.equal(new Set(hosts.map((h) => h.interfaces[0]?.mac)).size, 2 * PER_CHILD, 'every interface row');
    for (const h of hosts) assert.equal(h.state, kickstarted.has(h.name) ? 'kickstarted' : 'discovered', h.name);
    const attrs = await daemon.attributes.list({ scope: 'host' });
    assert.equal(attrs.filter((a) => a.name === 'writer').length, 2 * PER_CHILD);
    // events.list pages (at most 10,000 a call): count every row of a kind by paging on the id.
    const count = async (kind: string) => {
      let n = 0;
      for (let since = 0; ; ) {
        const page = await daemon.events.list({ kind, sinceId: since, limit: 10_000 });
        if (page.length === 0) return n;
        n += page.length;
        since = page[page.length - 1]!.id;
      }
    };
    assert.equal(await count('host.added'), 2 * PER_CHILD);
    assert.equal(await count('daemon.tick'), daemonEvents);
    assert.equal(await count('host.kickstarted'), kickstarted.size);
  } finally {
    await daemon.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
