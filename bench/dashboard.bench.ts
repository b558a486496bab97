// bench:dashboard — issue #18's dashboard figures, in Debian's chromium (playwright-core) against a
// real frontend on loopback with its own DHCP server on `lo` (root: SO_BINDTODEVICE):
//   (1) the page's JS heap with 10,000 hosts in the database: the host table at its default page
//       (100 rows) and at the largest page (1000 rows), then after walking all 10 pages of 1000
//       (a leak would grow it); after a forced GC (CDP HeapProfiler.collectGarbage), JSHeapUsedSize
//       of CDP Performance.getMetrics.                                    target ≤ 150 MB
//   (2) DHCP DISCOVER sent → its row in the browser's table: an insert-ethers session is open, the
//       table shows `state=discovered` (the 10,000 preloaded hosts are booted), and a
//       MutationObserver in the page stamps the moment the row with that MAC appears; the same
//       machine's clock on both sides. BENCH_DISCOVERIES of them (default 10), one at a time.
//                                                                          target ≤ 500 ms
// Prints figures; never fails on a slow machine. Env: BENCH_HOSTS (default 10000).
import { loadavg } from 'node:os';
import { discover, launchChromium, startDashboardFrontend, udpSend } from '../test/web/helpers.js';

const HOSTS = Number(process.env['BENCH_HOSTS'] ?? 10_000);
const DISCOVERIES = Number(process.env['BENCH_DISCOVERIES'] ?? 10);
const MB = 1024 * 1024;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

console.log(
  `load average at start: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
const fe = await startDashboardFrontend();
const browser = await launchChromium();
try {
  const t0 = performance.now();
  await fe.f.store.transaction(async (tx) => {
    for (let i = 0; i < HOSTS; i++)
      await tx.hosts.add({
        name: `compute-${1 + Math.floor(i / 100)}-${i % 100}`,
        appliance: 'compute',
        rack: 1 + Math.floor(i / 100),
        rank: i % 100,
        state: 'booted',
        bootAction: 'os',
        interfaces: [
          {
            mac: `52:54:01:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
            ip: `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
            subnet: '10.0.0.0/8',
            device: 'eth0',
          },
        ],
      });
  });
  console.log(`${HOSTS} hosts written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Performance.enable');
  const heap = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const m = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
    const v = (n: string) => m.metrics.find((x) => x.name === n)?.value ?? Number.NaN;
    return { used: v('JSHeapUsedSize') / MB, total: v('JSHeapTotalSize') / MB, nodes: v('Nodes') };
  };
  await page.goto(fe.url + '/');
  await page.locator('#login-token').fill(fe.token);
  await page.locator('#login-form button[type=submit]').click();
  await page.locator('#hosts-count', { hasText: `${HOSTS} host(s) match` }).waitFor({ timeout: 60_000 });
  const h100 = await heap();
  console.log(`(1) page heap, ${HOSTS} hosts, table page of 100: ${h100.used.toFixed(1)} MB used (${h100.total.toFixed(1)} MB total), ${h100.nodes} DOM nodes`);

  const t1 = performance.now();
  await page.locator('#f-limit').selectOption('1000');
  await page.locator('#host-filter button[type=submit]').click();
  await page.locator('#hosts-count', { hasText: '1000 shown' }).waitFor({ timeout: 60_000 });
  console.log(`    first page of 1000 rows shown in ${(performance.now() - t1).toFixed(0)} ms`);
  const h1000 = await heap();
  console.log(`    page of 1000: ${h1000.used.toFixed(1)} MB used (${h1000.total.toFixed(1)} MB total), ${h1000.nodes} DOM nodes`);
  const pages: number[] = [];
  for (let p = 2; p <= Math.ceil(HOSTS / 1000); p++) {
    const t = performance.now();
    await page.locator('#page-next').click();
    await page.locator('#hosts-count', { hasText: `page ${p},` }).waitFor({ timeout: 60_000 });
    pages.push(performance.now() - t);
  }
  const hAll = await heap();
  console.log(
    `    after walking all ${HOSTS} hosts (pages of 1000, median ${median(pages).toFixed(0)} ms a page): ${hAll.used.toFixed(1)} MB used (${hAll.total.toFixed(1)} MB total), ${hAll.nodes} DOM nodes   target ≤ 150 MB`,
  );

  // (2) discovery → row.
  const s = await fetch(fe.url + '/api/v1/discoveries/sessions', {
    method: 'POST',
    headers: fe.auth,
    body: JSON.stringify({ options: { appliance: 'compute' }, count: null }),
  });
  if (s.status !== 201) throw new Error(`session: ${s.status} ${await s.text()}`);
  await page.locator('#f-state').selectOption('discovered');
  await page.locator('#f-limit').selectOption('100');
  await page.locator('#host-filter button[type=submit]').click();
  await page.locator('#hosts-count', { hasText: '0 host(s) match' }).waitFor();
  await page.evaluate(() => {
    const w = globalThis as any;
    w.__seen = {};
    const body = w.document.getElementById('hosts-body');
    new w.MutationObserver(() => {
      for (const td of body.querySelectorAll('[data-col=mac]')) if (!w.__seen[td.textContent]) w.__seen[td.textContent] = Date.now();
    }).observe(body, { childList: true, subtree: true, characterData: true });
  });
  const lat: number[] = [];
  for (let i = 1; i <= DISCOVERIES; i++) {
    const hex = `5254aa00${i.toString(16).padStart(4, '0')}`;
    const mac = hex.match(/../g)!.join(':');
    const sent = Date.now();
    await udpSend(discover(hex), fe.dhcpPort);
    await page.waitForFunction((m) => Boolean((globalThis as any).__seen[m]), mac, { timeout: 30_000, polling: 20 });
    lat.push(((await page.evaluate((m) => (globalThis as any).__seen[m], mac)) as number) - sent);
  }
  console.log(
    `(2) DHCP DISCOVER → row in the browser (${HOSTS} hosts in the database, ${DISCOVERIES} discoveries): median ${median(lat)} ms, max ${Math.max(...lat)} ms, all ${lat.join(' ')}   target ≤ 500 ms`,
  );
  console.log(
    `load average at end: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
} finally {
  await browser.close();
  await fe.close();
}
