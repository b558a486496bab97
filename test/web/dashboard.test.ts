// Issue #18 point 4: the dashboard in a real browser (Debian's chromium driven by playwright-core)
// against a real frontend on loopback whose own DHCP server listens on `lo`. One browser for the
// file. A wrong token cannot log in; the right one gets an HttpOnly, SameSite=Strict, expiring
// cookie; the API refuses that cookie without its CSRF token; an insert-ethers session started in
// the page names a machine whose DHCP DISCOVER the test sends, and its row appears in the host
// table without a reload; its kickstart fetch and the installer's reportStatus change its state
// live; HTML in attributes and in a DISCOVER's vendor class shows as text; a screenshot is written
// under the test's temporary directory (its path is printed).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { call, rpc } from '../http/clients.js';
import { tempStateDir } from '../helpers/tmp.js';
import { startIpmiSim } from '../helpers/ipmi-sim.js';
import { discover, launchChromium, startDashboardFrontend, udpSend, type DashboardFrontend } from './helpers.js';

let fe: DashboardFrontend;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
const shots = tempStateDir('nrt-web-shots-');
/** A CHAP secret the page must never show (the API masks secret-named attributes). */
const SECRET = 'Chap-S3cret-0123456789';

before(async () => {
  fe = await startDashboardFrontend({ 'http.loginAttemptsPerMinute': '20' });
  browser = await launchChromium();
  ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
});

after(async () => {
  await browser?.close();
  await fe?.close();
});

const rows = (p: Page) => p.locator('#hosts-body tr');
const api = (path: string, init: RequestInit = {}) => fetch(fe.url + path, init);

async function loginWith(p: Page, token: string): Promise<void> {
  await p.locator('#login-token').fill(token);
  await p.locator('#login-form button[type=submit]').click();
}

test('the dashboard is served from netroot with a strict CSP, the right content types and no CDN', async () => {
  const index = await api('/');
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type')!, /^text\/html/);
  const csp = index.headers.get('content-security-policy')!;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/, 'no inline script, no other origin');
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  const html = await index.text();
  assert.doesNotMatch(html, /https?:\/\//, 'no absolute URL: nothing from the internet');
  assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]/, 'no inline script');
  const js = await api('/web/app/main.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type')!, /javascript/);
  assert.equal(js.headers.get('content-security-policy'), csp);
  assert.ok(js.headers.get('last-modified') || js.headers.get('etag'), 'revalidated, not cached blind');
  const css = await api('/web/style.css');
  assert.match(css.headers.get('content-type')!, /^text\/css/);
  assert.equal((await api('/web/nothing.js')).status, 404);
  assert.equal((await api('/web/../package.json')).status, 404);
});

test('a wrong token cannot log in (page and API); the right one gets an HttpOnly SameSite=Strict cookie that expires', async () => {
  await page.goto(fe.url + '/');
  await page.locator('#login-view').waitFor();
  await loginWith(page, 'not-the-token');
  await assert.doesNotReject(page.locator('#login-error', { hasText: 'Wrong token' }).waitFor({ timeout: 5000 }));
  assert.equal(await page.locator('#hosts-view').isVisible(), false);
  assert.deepEqual(await ctx.cookies(), [], 'no cookie for a wrong token');
  const wrong = await api('/api/v1/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: fe.token + 'x' }),
  });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('set-cookie'), null);

  await loginWith(page, fe.token);
  await page.locator('#hosts-view').waitFor();
  assert.equal(await page.locator('#login-view').isVisible(), false);
  const [c] = await ctx.cookies();
  assert.ok(c, 'a session cookie');
  assert.equal(c.name, 'netroot_session');
  assert.equal(c.httpOnly, true);
  assert.equal(c.sameSite, 'Strict');
  assert.equal(c.path, '/');
  assert.equal(c.secure, false, 'plain HTTP: no Secure flag (a browser would drop the cookie)');
  const ttl = c.expires - Date.now() / 1000;
  assert.ok(ttl > 8 * 3600 - 60 && ttl <= 8 * 3600 + 1, `expires after http.sessionMaxAgeSeconds (8 h): ${ttl}`);
  assert.equal(await page.evaluate(() => (globalThis as any).document.cookie), '', 'the page cannot read its cookie');
});

test('the API refuses the session cookie without its CSRF token, and accepts it with it', async () => {
  const [c] = await ctx.cookies();
  const cookie = `${c!.name}=${c!.value}`;
  const patch = (headers: Record<string, string>) =>
    api('/api/v1/attributes/global/dashboard_probe', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ value: 'x' }),
    });
  const none = await patch({ cookie });
  assert.equal(none.status, 401);
  assert.equal(((await none.json()) as any).code, 'E_UNAUTHORIZED');
  assert.equal((await patch({ cookie, 'x-csrf-token': 'A'.repeat(43) })).status, 401, 'a wrong CSRF token');
  const session = (await (await api('/api/v1/session', { headers: { cookie } })).json()) as { csrf: string };
  assert.equal((await patch({ 'x-csrf-token': session.csrf })).status, 401, 'the CSRF token alone is no credential');
  assert.equal((await patch({ cookie, 'x-csrf-token': session.csrf })).status, 200, 'cookie + its CSRF token');
  // From inside the page, a request without the header (what a forged form or script would send) is refused too.
  const inPage = await page.evaluate(async () => {
    const r = await fetch('/api/v1/attributes/global/dashboard_probe', { method: 'DELETE', credentials: 'same-origin' });
    return r.status;
  });
  assert.equal(inPage, 401);
  // The kickstart preview (a GET that needs the token) needs the CSRF token as well.
  assert.equal((await api('/api/v1/hosts/none/kickstart', { headers: { cookie } })).status, 401);
  assert.equal((await api('/api/v1/hosts/none/kickstart', { headers: { cookie, 'x-csrf-token': session.csrf } })).status, 404);
  // The event stream is an open read: the cookie-only EventSource of the page gets it.
  assert.equal(await page.locator('#live-state', { hasText: 'live' }).count(), 1);
});

test('a machine discovered by DHCP appears in the table live, and its install progress changes its row without a reload', { timeout: 60_000 }, async () => {
  // Start insert-ethers from the page.
  await page.goto(fe.url + '/#/discover');
  await page.locator('#discover-view').waitFor();
  await page.locator('#d-appliance').selectOption('compute');
  await page.locator('#d-count').fill('2');
  await page.locator('#d-start').click();
  await page.locator('#discover-status', { hasText: 'Listening' }).waitFor();
  assert.match((await page.locator('#discover-status').textContent())!, /DHCP on lo/);

  // The host table, then a DISCOVER from a machine nobody knows.
  await page.locator('nav a[href="#/hosts"]').click();
  await page.locator('#hosts-count', { hasText: '0 host(s)' }).waitFor();
  // (Browser code below: the root tsconfig has no DOM lib, so it reaches the page's globals through globalThis.)
  await page.evaluate(() => {
    const w = globalThis as any;
    w.__noReload = true;
    const body = w.document.getElementById('hosts-body');
    new w.MutationObserver(() => {
      if (body.querySelector('tr[data-host="compute-0-0"]') && !w.__rowAt) w.__rowAt = Date.now();
    }).observe(body, { childList: true, subtree: true });
  });
  const sent = Date.now();
  await udpSend(discover('525400dd0001'), fe.dhcpPort);
  const row = page.locator('#hosts-body tr[data-host="compute-0-0"]');
  await row.waitFor({ timeout: 10_000 });
  const rowAt = (await page.evaluate(() => (globalThis as any).__rowAt)) as number;
  console.log(`dashboard: DHCP DISCOVER → row in the browser: ${rowAt - sent} ms`);
  assert.equal(await row.locator('[data-col=mac]').textContent(), '52:54:00:dd:00:01');
  assert.equal(await row.locator('[data-col=appliance]').textContent(), 'compute');
  assert.equal(await row.locator('[data-col=state]').textContent(), 'discovered');
  const ip = (await row.locator('[data-col=ip]').textContent())!;
  assert.match(ip, /^127\.\d+\.\d+\.\d+$/);

  // The node fetches its kickstart (from its own address) and the installer reports progress.
  const ks = await call(fe.f.httpPort(), '/install/kickstart/compute-0-0', { from: ip });
  assert.equal(ks.status, 200, ks.body.slice(0, 300));
  const token = /netroot\.reportStatus<\/methodName><params><param><value><string>([A-Za-z0-9_-]{16,})<\/string>/.exec(ks.body)?.[1];
  assert.ok(token, 'an install token in the kickstart');
  await row.locator('[data-col=state]', { hasText: 'kickstarted' }).waitFor({ timeout: 5000 });
  const report = (state: string) =>
    rpc(
      fe.f.httpPort(),
      `<?xml version="1.0"?><methodCall><methodName>netroot.reportStatus</methodName><params><param><value><string>${token}</string></value></param><param><value><string>${state}</string></value></param></params></methodCall>`,
      ip,
    );
  assert.equal((await report('installing')).status, 200);
  await row.locator('[data-col=state]', { hasText: /^installing \(reported / }).waitFor({ timeout: 5000 });
  assert.match((await row.locator('[data-col=last]').textContent())!, /^host\.status · /);
  assert.equal((await report('failed')).status, 200);
  await row.locator('[data-col=state]', { hasText: /^failed/ }).waitFor({ timeout: 5000 });
  assert.equal(await page.evaluate(() => (globalThis as any).__noReload), true, 'no page reload');

  // The insert-ethers view lists the machine under its new name.
  await page.locator('nav a[href="#/discover"]').click();
  await page.locator('#discover-body tr[data-mac="52:54:00:dd:00:01"] td', { hasText: 'compute-0-0' }).waitFor({ timeout: 5000 });
});

test('HTML and script in attributes, event text and a DISCOVER show as text, and run nothing', { timeout: 60_000 }, async () => {
  const evil = '<img src=x onerror="window.__xss=1">';
  const evil2 = '<script>window.__xss=2</script>';
  for (const [name, value] of [
    ['iscsi_volume', evil],
    ['iscsi_target', evil2],
    ['iscsi_secret', SECRET],
    ['iscsi_user', 'chapuser'],
  ]) {
    const r = await api(`/api/v1/attributes/host/${name}?target=compute-0-0`, { method: 'PUT', headers: fe.auth, body: JSON.stringify({ value }) });
    assert.equal(r.status, 200, await r.text());
  }
  // A DISCOVER whose vendor class (option 60, the machine's own words) is markup: the insert-ethers view lists it.
  await udpSend(discover('525400dd0002', '<b id="evil">x</b><img src=y onerror="window.__xss=3">'), fe.dhcpPort);
  await page.locator('#discover-body tr[data-mac="52:54:00:dd:00:02"]').waitFor({ timeout: 5000 });
  const note = (await page.locator('#discover-body tr[data-mac="52:54:00:dd:00:02"] td').last().textContent())!;
  assert.ok(note.includes('<b id="evil">x</b>'), note);
  // That was the session's second machine (count 2): it has ended by itself.
  await page.locator('#discover-status', { hasText: 'Ended: 2 machine(s) named of 2' }).waitFor({ timeout: 5000 });
  // A session without a count runs until Stop.
  await page.locator('#d-count').fill('');
  await page.locator('#d-start').click();
  await page.locator('#discover-status', { hasText: 'Listening' }).waitFor();
  await page.locator('#d-stop').click();
  await page.locator('#discover-status', { hasText: 'Ended' }).waitFor();

  await page.locator('nav a[href="#/hosts"]').click();
  const row = page.locator('#hosts-body tr[data-host="compute-0-0"]');
  await row.locator('[data-col=volume]', { hasText: '<img' }).waitFor({ timeout: 5000 });
  assert.equal(await row.locator('[data-col=volume]').textContent(), evil);
  await row.locator('a').click();
  await page.locator('#host-view').waitFor();
  await page.locator('#host-facts dd', { hasText: evil2 }).waitFor({ timeout: 5000 });
  // The host page's timeline shows the events of the attribute changes as text too.
  assert.equal(await page.locator('main img:not(#graph-img), main script, #evil').count(), 0, 'no element made from data');
  assert.equal(await page.evaluate(() => (globalThis as any).__xss), undefined, 'no script ran');

  // Kernel arguments, and the kickstart preview (asked with the CSRF token) with its secrets masked.
  await page.locator('#host-boot dt', { hasText: 'Kernel arguments' }).waitFor();
  assert.match((await page.locator('#host-boot').textContent())!, /inst\.ks=/);
  await page.locator('#ks-show').click();
  await page.locator('#ks-text:not([hidden])').waitFor();
  const ksText = (await page.locator('#ks-text').textContent())!;
  assert.match(ksText, /%packages/);
  assert.ok(!ksText.includes(SECRET), 'the CHAP secret is masked');
  assert.ok(!(await page.content()).includes(SECRET), 'the CHAP secret is nowhere in the page');
});

test('boot= action with confirmation; the graph picture; keyboard use; a screenshot', { timeout: 60_000 }, async () => {
  // Cancel first: nothing changes; then confirm from the keyboard.
  await page.locator('#boot-action').selectOption('local');
  await page.locator('#boot-set').click();
  await page.locator('#confirm[open]').waitFor();
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => !(globalThis as any).document.getElementById('confirm').open);
  assert.equal((await fe.f.store.hosts.get('compute-0-0'))!.bootAction, 'install');
  await page.locator('#boot-set').focus();
  await page.keyboard.press('Enter');
  await page.locator('#confirm[open]').waitFor();
  await page.locator('#confirm-ok').focus();
  await page.keyboard.press('Enter');
  await page.locator('#host-message', { hasText: 'boot action set to local' }).waitFor();
  assert.equal((await fe.f.store.hosts.get('compute-0-0'))!.bootAction, 'local');
  await page.locator('#host-events li', { hasText: 'host.changed' }).first().waitFor({ timeout: 5000 });

  // Every form control has a label.
  const unlabeled = await page.evaluate(() =>
    [...(globalThis as any).document.querySelectorAll('input, select')].filter((e: any) => e.labels?.length === 0).map((e: any) => e.id),
  );
  assert.deepEqual(unlabeled, []);

  // The graph: an SVG image from the frontend, appliances drawn in.
  await page.locator('nav a[href="#/graph"]').click();
  await page.locator('#graph-view').waitFor();
  await page.waitForFunction(() => (globalThis as any).document.getElementById('graph-img').naturalWidth > 0, null, { timeout: 30_000 });
  const svg = await api('/api/v1/graph');
  assert.equal(svg.status, 200);
  assert.match(svg.headers.get('content-type')!, /^image\/svg\+xml/);
  const text = await svg.text();
  assert.match(text, /<svg/);
  assert.match(text, /appliance compute/);

  await page.locator('nav a[href="#/hosts"]').click();
  await page.locator('#hosts-body tr').first().waitFor();
  mkdirSync(shots, { recursive: true });
  const file = join(shots, 'dashboard.png');
  await page.screenshot({ path: file, fullPage: true });
  console.log(`dashboard screenshot: ${file}`);
  assert.ok((await rows(page).count()) >= 1);
});

test('power buttons power the host through the real REST route and a real IPMI BMC (ipmi_sim) after a confirmation; failures name the host and cause; the row follows live', {
  timeout: 120_000,
}, async () => {
  // compute-0-0's BMC is OpenIPMI's ipmi_sim on loopback, whose "machine" is a process that power
  // on starts and power off kills (test/helpers/ipmi-sim.ts); netroot's IPMI driver reaches it
  // through ipmitool from the frontend (POST /api/v1/hosts/{name}/power, src/http/power-routes.ts).
  const sim = await startIpmiSim();
  try {
    await fe.f.store.bmcs.set(sim.bmc('compute-0-0'));
    const [c] = await ctx.cookies();
    const { csrf } = (await (await api('/api/v1/session', { headers: { cookie: `${c!.name}=${c!.value}` } })).json()) as { csrf: string };
    const sent: { body: unknown; csrf: string | undefined }[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/api/v1/hosts/compute-0-0/power')) sent.push({ body: r.postDataJSON(), csrf: r.headers()['x-csrf-token'] });
    });
    await page.goto(fe.url + '/#/host/compute-0-0');
    await page.locator('#host-view').waitFor();
    await page.locator('#host-facts dt', { hasText: 'Power' }).waitFor();
    // Cancelled: nothing is sent, nothing reaches the BMC.
    await page.locator('button[data-power=cycle]').click();
    await page.locator('#confirm-text', { hasText: 'Power cycle compute-0-0?' }).waitFor();
    await page.locator('#confirm-cancel').click();
    assert.equal(sent.length, 0);
    assert.ok(!sim.actions().some((a) => a.startsWith('set ')), sim.actions().join(', '));
    // Confirmed, with PXE: the BMC sets the boot device, then powers the machine on (a cycle of an off machine).
    await page.locator('#power-pxe').check();
    await page.locator('button[data-power=cycle]').click();
    await page.locator('#confirm-text', { hasText: 'Power cycle compute-0-0, next boot from PXE?' }).waitFor();
    await page.locator('#confirm-ok').click();
    await page.locator('#host-message', { hasText: 'power cycle: done; the host is on' }).waitFor({ timeout: 60_000 });
    assert.deepEqual(sent.at(-1), { body: { action: 'cycle', pxe: true }, csrf });
    assert.ok(sim.isOn(), 'the machine behind the BMC runs');
    assert.equal(sim.bootDevice(), 'pxe');
    // Status asks no confirmation.
    await page.locator('#power-pxe').uncheck();
    await page.locator('button[data-power=status]').click();
    await page.locator('#host-message', { hasText: 'power status: done; the host is on' }).waitFor({ timeout: 60_000 });
    assert.deepEqual(sent.at(-1)!.body, { action: 'status' });
    // The table shows the state the BMC reported.
    await page.locator('nav a[href="#/hosts"]').click();
    await page.locator('#hosts-body tr[data-host="compute-0-0"] [data-col=power]', { hasText: /^on$/ }).waitFor({ timeout: 10_000 });
    // A wrong BMC password: the page shows the per-host error, never the secret; the row says the action failed.
    await fe.f.store.bmcs.set({ ...sim.bmc('compute-0-0'), secret: 'WrongPassword123' });
    await page.goto(fe.url + '/#/host/compute-0-0');
    await page.locator('button[data-power=off]').click();
    await page.locator('#confirm-ok').click();
    const err = page.locator('#host-message.error', { hasText: /E_BMC_AUTH: compute-0-0/ });
    await err.waitFor({ timeout: 60_000 });
    assert.ok(!(await err.textContent())!.includes('WrongPassword123'));
    assert.ok(sim.isOn(), 'a refused command changes nothing');
    await page.locator('nav a[href="#/hosts"]').click();
    await page.locator('#hosts-body tr[data-host="compute-0-0"] [data-col=power]', { hasText: 'on (last off failed)' }).waitFor({ timeout: 10_000 });
  } finally {
    await fe.f.store.bmcs.remove('compute-0-0');
    await sim.stop();
  }
});

test('logout ends the session: the cookie no longer works, with or without its CSRF token', async () => {
  const [c] = await ctx.cookies();
  const cookie = `${c!.name}=${c!.value}`;
  const { csrf } = (await (await api('/api/v1/session', { headers: { cookie } })).json()) as { csrf: string };
  await page.locator('#logout').click();
  await page.locator('#login-view').waitFor();
  assert.equal((await api('/api/v1/session', { headers: { cookie } })).status, 401);
  const r = await api('/api/v1/attributes/global/dashboard_probe', { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } });
  assert.equal(r.status, 401);
});
