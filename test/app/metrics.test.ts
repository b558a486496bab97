// Issue #15 point 3: /metrics and /readyz of a real frontend on loopback. Real traffic to every
// service (DHCP packets to its port on lo, TFTP reads, HTTP requests, iSCSI logins with CHAP and
// SCSI I/O against the embedded target), then a scrape parsed by a strict exposition-format parser
// (test/helpers/prom-text.ts): every family has HELP and TYPE, and the counters have the values
// the traffic implies. /readyz: 200 when everything is up; 503 naming the store while another
// connection holds its write lock, and naming iscsi once the target stops listening.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createFrontend, type Frontend } from '../../src/app/frontend.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { readApiToken } from '../../src/app/api-token.js';
import { decodeTftp, encodeTftp } from '../../src/tftp/index.js';
import { BIOS_DISCOVER, UEFI_RELAYED_DISCOVER } from '../fixtures/dhcp/packets.js';
import { frontendOverrides } from '../helpers/frontend.js';
import { tempStateDir } from '../helpers/tmp.js';
import { parsePrometheusText, sampleValue, type PromFamily } from '../helpers/prom-text.js';
import { TestInitiator, cdb } from '../iscsi/helpers/initiator.js';
import { rawPeer } from '../tftp/udp-peer.js';
import { freeUdpPort } from '../helpers/ports.js';
import { LOOPBACK_NETWORK } from '../helpers/loopback-frontend.js';
import { waitFor } from '../helpers/wait.js';

async function udpSend(buf: Buffer, port: number): Promise<void> {
  const s = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => s.send(buf, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  } finally {
    s.close();
  }
}

/** A lockstep TFTP read (blksize 512): the file's bytes or the error packet. */
async function tftpRead(port: number, name: string): Promise<Buffer | { code: number }> {
  const peer = await rawPeer('127.0.0.1');
  try {
    await peer.send(encodeTftp({ op: 'RRQ', filename: name, mode: 'octet', options: new Map() }), port);
    const parts: Buffer[] = [];
    for (;;) {
      const r = await peer.next(3000);
      assert.ok(r, 'a TFTP answer');
      const p = decodeTftp(r.msg);
      if (p.op === 'ERROR') return { code: p.code };
      if (p.op !== 'DATA') throw new Error(`unexpected ${p.op}`);
      parts.push(p.data);
      await new Promise<void>((res, rej) =>
        peer.socket.send(encodeTftp({ op: 'ACK', block: p.block }), r.rinfo.port, '127.0.0.1', (e) => (e ? rej(e) : res())),
      );
      if (p.data.length < 512) return Buffer.concat(parts);
    }
  } finally {
    peer.close();
  }
}

async function scrape(port: number): Promise<{ text: string; families: Map<string, PromFamily> }> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await r.text();
  return { text, families: parsePrometheusText(text) };
}

/** Scrapes until `ok` holds (services count asynchronously); the last scrape. */
async function scrapeUntil(port: number, ok: (f: Map<string, PromFamily>) => boolean, what: string): Promise<Map<string, PromFamily>> {
  return waitFor(
    async () => {
      const { families } = await scrape(port);
      return ok(families) && families;
    },
    { what: `metrics to show ${what}`, intervalMs: 50 },
  );
}

const v = (f: Map<string, PromFamily>, family: string, labels: Record<string, string> = {}, name = family) => sampleValue(f, family, name, labels);

/** The Node process families (prom-client's default metrics behind the netroot_ prefix; docs/METRICS.md). */
const PROCESS_FAMILIES = [
  'netroot_process_cpu_user_seconds_total',
  'netroot_process_cpu_system_seconds_total',
  'netroot_process_cpu_seconds_total',
  'netroot_process_start_time_seconds',
  'netroot_process_resident_memory_bytes',
  'netroot_process_virtual_memory_bytes',
  'netroot_process_heap_bytes',
  'netroot_process_open_fds',
  'netroot_process_max_fds',
  'netroot_nodejs_eventloop_lag_seconds',
  'netroot_nodejs_eventloop_lag_min_seconds',
  'netroot_nodejs_eventloop_lag_max_seconds',
  'netroot_nodejs_eventloop_lag_mean_seconds',
  'netroot_nodejs_eventloop_lag_stddev_seconds',
  'netroot_nodejs_eventloop_lag_p50_seconds',
  'netroot_nodejs_eventloop_lag_p90_seconds',
  'netroot_nodejs_eventloop_lag_p99_seconds',
  'netroot_nodejs_active_resources',
  'netroot_nodejs_active_handles',
  'netroot_nodejs_active_requests',
  'netroot_nodejs_heap_size_total_bytes',
  'netroot_nodejs_heap_size_used_bytes',
  'netroot_nodejs_external_memory_bytes',
  'netroot_nodejs_heap_space_size_total_bytes',
  'netroot_nodejs_heap_space_size_used_bytes',
  'netroot_nodejs_heap_space_size_available_bytes',
  'netroot_nodejs_version_info',
  'netroot_nodejs_gc_duration_seconds',
];

/** Every family the frontend exports with all services on (docs/METRICS.md). */
const FAMILIES = [
  'netroot_service_listening',
  'netroot_http_requests_total',
  'netroot_http_request_duration_seconds',
  'netroot_http_requests_in_flight',
  'netroot_http_shed_requests_total',
  'netroot_http_file_streams',
  'netroot_http_receiving_bodies',
  'netroot_http_slow_bodies_cut_total',
  'netroot_http_stalled_files_cut_total',
  'netroot_http_send_stalled_total',
  'netroot_dhcp_packets_received_total',
  'netroot_dhcp_messages_received_total',
  'netroot_dhcp_messages_sent_total',
  'netroot_dhcp_packets_dropped_total',
  'netroot_dhcp_unknown_discovers_total',
  'netroot_tftp_packets_received_total',
  'netroot_tftp_requests_total',
  'netroot_tftp_busy_total',
  'netroot_tftp_transfers_total',
  'netroot_tftp_transfers_active',
  'netroot_tftp_transferred_bytes_total',
  'netroot_tftp_timeouts_total',
  'netroot_tftp_retransmits_total',
  'netroot_tftp_error_packets_sent_total',
  'netroot_tftp_client_errors_total',
  'netroot_tftp_internal_errors_total',
  'netroot_tftp_packets_dropped_total',
  'netroot_tftp_buffered_bytes',
  'netroot_iscsi_sessions',
  'netroot_iscsi_connections',
  'netroot_iscsi_login_connections',
  'netroot_iscsi_logins_total',
  'netroot_iscsi_read_bytes_total',
  'netroot_iscsi_written_bytes_total',
  'netroot_iscsi_received_bytes_total',
  'netroot_iscsi_sent_bytes_total',
  'netroot_iscsi_pdus_received_total',
  'netroot_iscsi_pdus_sent_total',
  'netroot_iscsi_commands_total',
  'netroot_iscsi_task_management_requests_total',
  'netroot_iscsi_rejects_total',
  'netroot_iscsi_malformed_pdus_total',
  'netroot_iscsi_cmdsn_dropped_total',
  'netroot_iscsi_refused_total',
  'netroot_iscsi_discovery_timeouts_total',
  'netroot_discovery_events_total',
  'netroot_discovery_plugin_failures_total',
  ...PROCESS_FAMILIES,
];

interface Fe {
  f: Frontend;
  dir: string;
  port: number;
  close(): Promise<void>;
}

async function startAll(): Promise<Fe> {
  const dir = tempStateDir('nrt-metrics-');
  const config = loadConfig({
    env: {},
    overrides: {
      ...frontendOverrides(dir),
      ...LOOPBACK_NETWORK,
      'tftp.enabled': 'true',
      'tftp.host': '127.0.0.1',
      'tftp.port': '0',
      // The frontend's own DHCP server, bound to lo (SO_BINDTODEVICE; the tests run as root) on a free port.
      'dhcp.interfaces': 'lo',
      'dhcp.port': String(await freeUdpPort()),
    },
  });
  mkdirSync(config.tftp.root, { recursive: true });
  // A site plugin whose `changed` hook fails: its failures are counted by plugin and hook.
  mkdirSync(join(dir, 'plugins'), { recursive: true });
  writeFileSync(join(dir, 'plugins', '95-flaky.mjs'), "export default { name: '95-flaky', async changed() { throw new Error('site system down'); } };\n");
  const f = createFrontend(config, { logger: silentLogger });
  await f.start();
  return {
    f,
    dir,
    port: f.httpPort(),
    close: async () => {
      await f.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('/metrics of a real frontend after DHCP, TFTP, HTTP and iSCSI traffic: valid exposition format, HELP and TYPE for every family, exact counters', {
  timeout: 60_000,
}, async () => {
  const fe = await startAll();
  try {
    const { f, port } = fe;
    const http = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${port}${path}`, init);

    // Before any traffic: every family is there, each with HELP and TYPE, names by the conventions.
    const first = (await scrape(port)).families;
    for (const name of FAMILIES) {
      const fam = first.get(name);
      assert.ok(fam, `family ${name}`);
      assert.ok(fam.help && fam.help.length > 10, `HELP of ${name}`);
      assert.ok(fam.type, `TYPE of ${name}`);
    }
    for (const fam of first.values()) {
      assert.ok(FAMILIES.includes(fam.name), `undocumented family ${fam.name}`);
      assert.ok(fam.name.startsWith('netroot_'), fam.name);
      if (fam.type === 'counter') assert.match(fam.name, /_total$/, `counter ${fam.name} ends in _total`);
      else assert.doesNotMatch(fam.name, /_total$/, `${fam.type} ${fam.name} does not end in _total`);
      if (/bytes/.test(fam.name)) assert.match(fam.name, /_bytes(_total)?$/, `${fam.name}: unit suffix _bytes`);
    }
    assert.equal(first.get('netroot_http_request_duration_seconds')!.type, 'histogram');
    // The process metrics are this process's: start time, CPU, memory, fds, event loop, version.
    const startTime = v(first, 'netroot_process_start_time_seconds')!;
    assert.ok(Math.abs(startTime - (Date.now() / 1000 - process.uptime())) < 5, `process start time ${startTime}`);
    assert.equal(first.get('netroot_process_cpu_seconds_total')!.type, 'counter');
    assert.ok(v(first, 'netroot_process_cpu_seconds_total')! > 0);
    assert.ok(v(first, 'netroot_process_resident_memory_bytes')! > 10 * 2 ** 20, 'resident memory in bytes');
    assert.ok(v(first, 'netroot_process_open_fds')! > 3);
    assert.ok(v(first, 'netroot_nodejs_heap_size_used_bytes')! > 0);
    assert.ok(v(first, 'netroot_nodejs_eventloop_lag_seconds')! >= 0);
    assert.equal(first.get('netroot_nodejs_gc_duration_seconds')!.type, 'histogram');
    assert.ok(
      first.get('netroot_nodejs_version_info')!.samples.some((x) => x.labels['version'] === process.version && x.value === 1),
      'nodejs_version_info{version}',
    );
    assert.ok(!first.has('netroot_nodejs_active_handles_total'), 'no gauge named _total');
    for (const s of ['http', 'iscsi', 'tftp', 'dhcp']) assert.equal(v(first, 'netroot_service_listening', { service: s }), 1, s);

    // DHCP: two DISCOVERs from MACs the database does not know, one datagram that does not decode,
    // while an insert-ethers session for one machine is open (the first MAC becomes compute-0-0).
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${readApiToken(f.config)!}` };
    const session = await http('/api/v1/discoveries/sessions', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ options: { appliance: 'compute' }, count: 1 }),
    });
    assert.equal(session.status, 201, await session.clone().text());
    const dhcpPort = f.config.dhcp.port;
    await udpSend(BIOS_DISCOVER, dhcpPort);
    await udpSend(UEFI_RELAYED_DISCOVER, dhcpPort);
    await udpSend(Buffer.from('not a DHCP packet'), dhcpPort);

    // TFTP: one file read to the end (1000 bytes: two blocks), one missing file.
    writeFileSync(join(f.config.tftp.root, 'hello.bin'), Buffer.alloc(1000, 7));
    const tftpPort = f.tftp()!.port();
    const got = await tftpRead(tftpPort, 'hello.bin');
    assert.ok(Buffer.isBuffer(got) && got.length === 1000);
    assert.deepEqual(await tftpRead(tftpPort, 'missing.bin'), { code: 1 });

    // HTTP: two /healthz, a host added through the REST API (a diskless node: the iSCSI plugin
    // gives it a volume, a target and CHAP), a scanner's twenty made-up paths (one label).
    for (let i = 0; i < 2; i++) assert.equal((await http('/healthz')).status, 200);
    const added = await http('/api/v1/hosts', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: 'compute-1-0', mac: '52:54:00:bb:00:01', ip: '127.0.0.2', appliance: 'compute-diskless' }),
    });
    assert.equal(added.status, 201, await added.clone().text());
    for (let i = 0; i < 20; i++) assert.equal((await http(`/scan/${i}/wp-login.php?x=${i}`)).status, 404);
    assert.equal((await http('/api/v1/hosts/nobody')).status, 404);
    // A change the flaky plugin fails on: the change stays, the failure is reported and counted.
    const changed = await http('/api/v1/hosts/compute-1-0', { method: 'PATCH', headers: auth, body: JSON.stringify({ attributes: { rack_label: 'r1' } }) });
    assert.notEqual(changed.status, 200, 'the plugin failure is reported');

    // iSCSI: the node's login with its CHAP secret, a 4 KiB write and read; a login with a wrong secret.
    const a = Object.fromEntries((await f.store.attributes.list({ scope: 'host', target: 'compute-1-0' })).map((x) => [x.name, x.value]));
    const iscsiPort = f.storage.iscsiPort();
    const ini = await TestInitiator.connect(iscsiPort, '127.0.0.1', '127.0.0.2');
    try {
      const l = await ini.login({ initiator: a['iscsi_initiator']!, target: a['iscsi_target']!, chap: { user: a['iscsi_user']!, secret: a['iscsi_secret']! } });
      assert.equal(l.statusClass, 0, 'login succeeded');
      const data = Buffer.alloc(4096, 0xa5);
      assert.equal((await ini.scsi(cdb.rw10(0x2a, 0, 8), { write: data })).status, 0);
      const r = await ini.scsi(cdb.rw10(0x28, 0, 8), { readLength: 4096 });
      assert.equal(r.status, 0);
      assert.ok(r.data.equals(data));
      const bad = await TestInitiator.connect(iscsiPort, '127.0.0.1', '127.0.0.2');
      try {
        const lb = await bad.login({
          initiator: a['iscsi_initiator']!,
          target: a['iscsi_target']!,
          chap: { user: a['iscsi_user']!, secret: 'Wrong0123456789a' },
        });
        assert.notEqual(lb.statusClass, 0, 'a wrong secret is refused');
      } finally {
        bad.close();
      }

      const m = await scrapeUntil(
        port,
        (x) =>
          v(x, 'netroot_dhcp_unknown_discovers_total') === 2 &&
          v(x, 'netroot_discovery_events_total', { event: 'added' }) === 1 &&
          v(x, 'netroot_tftp_transfers_total', { result: 'completed' }) === 1 &&
          v(x, 'netroot_iscsi_logins_total', { result: 'failure' }) === 1,
        'the DHCP, TFTP and iSCSI counts',
      );
      // DHCP, by message type; the malformed datagram is dropped and counted.
      assert.equal(v(m, 'netroot_dhcp_packets_received_total'), 3, 'netroot_dhcp_packets_received_total');
      assert.equal(v(m, 'netroot_dhcp_messages_received_total', { type: 'discover' }), 2, 'netroot_dhcp_messages_received_total, { type: discover }');
      assert.equal(v(m, 'netroot_dhcp_messages_received_total', { type: 'request' }), 0, 'netroot_dhcp_messages_received_total, { type: request }');
      assert.equal(v(m, 'netroot_dhcp_messages_sent_total', { type: 'offer' }), 0, 'unknown machines get no offer (no pool)');
      assert.equal(v(m, 'netroot_dhcp_packets_dropped_total', { reason: 'malformed' }), 1, 'netroot_dhcp_packets_dropped_total, { reason: malformed }');
      assert.equal(v(m, 'netroot_discovery_events_total', { event: 'discovered' }), 2, 'netroot_discovery_events_total, { event: discovered }');
      assert.equal(v(m, 'netroot_discovery_events_total', { event: 'added' }), 1, 'insert-ethers added the first machine');
      assert.equal(v(m, 'netroot_discovery_events_total', { event: 'failed' }), 0);
      // TFTP.
      assert.equal(v(m, 'netroot_tftp_requests_total', { result: 'started' }), 1, 'netroot_tftp_requests_total, { result: started }');
      assert.equal(v(m, 'netroot_tftp_requests_total', { result: 'not_found' }), 1, 'netroot_tftp_requests_total, { result: not_found }');
      assert.equal(v(m, 'netroot_tftp_transferred_bytes_total'), 1000, 'netroot_tftp_transferred_bytes_total');
      assert.equal(v(m, 'netroot_tftp_error_packets_sent_total'), 1, 'netroot_tftp_error_packets_sent_total');
      assert.equal(v(m, 'netroot_tftp_transfers_active'), 0, 'netroot_tftp_transfers_active');
      // HTTP: by route pattern and status; the made-up paths share route="unmatched".
      assert.equal(
        v(m, 'netroot_http_requests_total', { method: 'GET', route: '/healthz', status: '200' }),
        2,
        'netroot_http_requests_total, { method: GET, route: /healthz, status: 200 }',
      );
      assert.equal(
        v(m, 'netroot_http_requests_total', { method: 'POST', route: '/api/v1/hosts', status: '201' }),
        1,
        'netroot_http_requests_total, { method: POST, route: /api/v1/hosts, status: 201 }',
      );
      assert.equal(
        v(m, 'netroot_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }),
        20,
        'netroot_http_requests_total, { method: GET, route: unmatched, status: 404 }',
      );
      assert.equal(
        v(m, 'netroot_http_requests_total', { method: 'GET', route: '/api/v1/hosts/:name', status: '404' }),
        1,
        'netroot_http_requests_total, { method: GET, route: /api/v1/hosts/:name, status: 404 }',
      );
      const routes = new Set(m.get('netroot_http_requests_total')!.samples.map((s) => s.labels['route']));
      assert.ok(![...routes].some((r) => r?.includes('wp-login')), `no raw URL as a label: ${[...routes].join(' ')}`);
      assert.equal(
        v(m, 'netroot_http_request_duration_seconds', { method: 'GET', route: '/healthz' }, 'netroot_http_request_duration_seconds_count'),
        2,
        'netroot_http_request_duration_seconds, { method: GET, route: /healthz }, netroot_http_request_duration_seconds_count',
      );
      assert.equal(
        v(m, 'netroot_http_request_duration_seconds', { method: 'GET', route: '/healthz', le: '+Inf' }, 'netroot_http_request_duration_seconds_bucket'),
        2,
        'netroot_http_request_duration_seconds, { method: GET, route: /healthz, le: +Inf }, netroot_http_request_duration_seconds_bucket',
      );
      assert.ok(v(m, 'netroot_http_request_duration_seconds', { method: 'GET', route: '/healthz' }, 'netroot_http_request_duration_seconds_sum')! > 0);
      assert.ok(v(m, 'netroot_http_requests_total', { method: 'GET', route: '/metrics', status: '200' })! >= 1, 'earlier scrapes are counted');
      assert.equal(v(m, 'netroot_http_requests_in_flight'), 1, 'the scrape itself');
      // iSCSI: one session up; logins by result; SCSI data both ways.
      assert.equal(v(m, 'netroot_iscsi_sessions', { type: 'normal' }), 1, 'netroot_iscsi_sessions, { type: normal }');
      assert.equal(v(m, 'netroot_iscsi_logins_total', { result: 'success' }), 1, 'netroot_iscsi_logins_total, { result: success }');
      assert.equal(v(m, 'netroot_iscsi_logins_total', { result: 'failure' }), 1, 'netroot_iscsi_logins_total, { result: failure }');
      assert.equal(v(m, 'netroot_iscsi_logins_total', { result: 'timeout' }), 0, 'netroot_iscsi_logins_total, { result: timeout }');
      assert.equal(v(m, 'netroot_iscsi_written_bytes_total'), 4096, 'netroot_iscsi_written_bytes_total');
      assert.equal(v(m, 'netroot_iscsi_read_bytes_total'), 4096, 'netroot_iscsi_read_bytes_total');
      assert.equal(v(m, 'netroot_iscsi_commands_total'), 2, 'netroot_iscsi_commands_total');
      assert.ok(v(m, 'netroot_iscsi_received_bytes_total')! > 4096);
      assert.deepEqual(m.get('netroot_discovery_plugin_failures_total')!.samples, [
        { name: 'netroot_discovery_plugin_failures_total', labels: { plugin: '95-flaky', hook: 'changed' }, value: 1 },
      ]);
      assert.equal(v(m, 'netroot_http_requests_total', { method: 'PATCH', route: '/api/v1/hosts/:name', status: String(changed.status) }), 1);
    } finally {
      ini.close();
    }
  } finally {
    await fe.close();
  }
});

test('/readyz: 200 with every check ok; 503 naming the store while its write lock is held elsewhere, then iscsi once the target stops listening; /healthz stays 200', {
  timeout: 30_000,
}, async () => {
  const fe = await startAll();
  const other = new Database(join(fe.dir, 'netroot.db'));
  try {
    const ready = async () => {
      const r = await fetch(`http://127.0.0.1:${fe.port}/readyz`);
      return { status: r.status, body: (await r.json()) as { ready: boolean; notReady: string[]; checks: Record<string, string> } };
    };
    const up = await ready();
    assert.equal(up.status, 200);
    assert.deepEqual(up.body, { ready: true, notReady: [], checks: { http: 'ok', iscsi: 'ok', tftp: 'ok', dhcp: 'ok', store: 'ok' } });

    // Another process's writer (here: a second connection) holds the database's write lock.
    other.exec('BEGIN IMMEDIATE');
    const locked = await ready();
    assert.equal(locked.status, 503);
    assert.deepEqual(locked.body.notReady, ['store']);
    assert.match(locked.body.checks['store']!, /^not writable \(SQLITE_BUSY/);
    assert.equal((await fetch(`http://127.0.0.1:${fe.port}/healthz`)).status, 200, 'liveness does not touch the store');
    other.exec('ROLLBACK');
    assert.equal((await ready()).status, 200);

    await fe.f.storage.target!.stop();
    const down = await ready();
    assert.equal(down.status, 503);
    assert.deepEqual(down.body.notReady, ['iscsi']);
    assert.equal(down.body.checks['iscsi'], 'not listening');
    const m = (await scrape(fe.port)).families;
    assert.equal(v(m, 'netroot_service_listening', { service: 'iscsi' }), 0, 'netroot_service_listening, { service: iscsi }');
    assert.equal(v(m, 'netroot_service_listening', { service: 'http' }), 1, 'netroot_service_listening, { service: http }');
  } finally {
    other.close();
    await fe.close();
  }
});

test('two frontends in one process keep separate registries', { timeout: 30_000 }, async () => {
  const a = await startAll();
  const b = await startAll();
  try {
    await fetch(`http://127.0.0.1:${a.port}/healthz`);
    const ma = await scrapeUntil(
      a.port,
      (x) => v(x, 'netroot_http_requests_total', { method: 'GET', route: '/healthz', status: '200' }) === 1,
      'a /healthz on a',
    );
    assert.equal(v(ma, 'netroot_http_requests_total', { method: 'GET', route: '/healthz', status: '200' }), 1);
    const mb = (await scrape(b.port)).families;
    assert.equal(v(mb, 'netroot_http_requests_total', { method: 'GET', route: '/healthz', status: '200' }), undefined, 'b saw no /healthz');
    assert.notEqual(a.f.http.registry, b.f.http.registry);
  } finally {
    await a.close();
    await b.close();
  }
});
