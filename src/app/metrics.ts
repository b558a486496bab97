// The frontend's Prometheus families (issue #15; docs/METRICS.md lists them), the Node process
// metrics, and /readyz. One Registry per frontend, never prom-client's global one, so tests and
// several frontends in one process do not collide. Every service family below copies a service's
// own counters at scrape time (counterFrom/gaugeFrom in src/http/metrics.ts); the HTTP families are
// registered by the HTTP app.
// A service that is not configured (DHCP without interfaces, TFTP off, no embedded target) has no
// families; one configured but not started yet reports nothing until it starts.
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { counterFrom, gaugeFrom } from '../http/metrics.js';
import type { Readiness } from '../http/app.js';
import type { DhcpServer } from '../dhcp/index.js';
import type { TftpServer } from '../tftp/index.js';
import type { IscsiTarget } from '../iscsi/index.js';
import type { DiscoveryHub } from '../discovery/hub.js';
import type { HostService } from '../discovery/host-service.js';
import type { Store } from '../store/index.js';

export interface MetricSources {
  /** Set when the DHCP server is configured (dhcp.interfaces); returns it while it runs. */
  dhcp?: () => DhcpServer | undefined;
  tftp?: () => TftpServer | undefined;
  iscsi?: IscsiTarget | undefined;
  hub: DiscoveryHub;
  hosts: HostService;
  /** Each enabled service and whether it listens now (the same answer /readyz gives). */
  listening: () => Record<string, boolean>;
}

/** The service's counters while it runs (none before it starts). */
function current<T>(get: () => { metrics: T } | undefined): () => T[] {
  return () => {
    const s = get();
    return s === undefined ? [] : [s.metrics];
  };
}

export function registerServiceMetrics(registry: Registry, src: MetricSources): void {
  gaugeFrom(registry, {
    name: 'netroot_service_listening',
    help: 'Whether each enabled service listens (1) or not (0): http, iscsi (the embedded target), tftp, dhcp.',
    labelNames: ['service'],
    read: () => Object.entries(src.listening()).map(([service, up]) => [{ service }, up ? 1 : 0] as const),
  });

  if (src.dhcp) {
    const m = current(src.dhcp);
    const one = (name: string, help: string, pick: (x: DhcpServer['metrics']) => number) =>
      counterFrom(registry, { name, help, read: () => m().map((x) => [{}, pick(x)] as const) });
    one('netroot_dhcp_packets_received_total', 'Datagrams received on the DHCP port (every interface).', (x) => x.received);
    counterFrom(registry, {
      name: 'netroot_dhcp_messages_received_total',
      help: 'Client messages handled, by DHCP message type (RFC 2132 option 53).',
      labelNames: ['type'],
      read: () =>
        m().flatMap(
          (x) =>
            [
              [{ type: 'discover' }, x.discovers],
              [{ type: 'request' }, x.requests],
              [{ type: 'inform' }, x.informs],
              [{ type: 'release' }, x.releases],
              [{ type: 'decline' }, x.declines],
            ] as const,
        ),
    });
    counterFrom(registry, {
      name: 'netroot_dhcp_messages_sent_total',
      help: 'Answers sent, by DHCP message type.',
      labelNames: ['type'],
      read: () =>
        m().flatMap(
          (x) =>
            [
              [{ type: 'offer' }, x.offers],
              [{ type: 'ack' }, x.acks],
              [{ type: 'nak' }, x.naks],
            ] as const,
        ),
    });
    counterFrom(registry, {
      name: 'netroot_dhcp_packets_dropped_total',
      help: 'Datagrams dropped: malformed (did not decode), ignored (not a client request for this server, unknown type) or error (answering failed).',
      labelNames: ['reason'],
      read: () =>
        m().flatMap(
          (x) =>
            [
              [{ reason: 'malformed' }, x.malformed],
              [{ reason: 'ignored' }, x.ignored],
              [{ reason: 'error' }, x.errors],
            ] as const,
        ),
    });
    one('netroot_dhcp_unknown_discovers_total', 'DISCOVERs from MACs the database does not know (each is reported to insert-ethers).', (x) => x.discoveries);
  }

  if (src.tftp) {
    const m = current(src.tftp);
    type T = TftpServer['metrics'];
    const counter = (name: string, help: string, pick: (x: T) => number) =>
      counterFrom(registry, { name, help, read: () => m().map((x) => [{}, pick(x)] as const) });
    counter('netroot_tftp_packets_received_total', 'Datagrams received on the TFTP listening port.', (x) => x.received);
    counterFrom(registry, {
      name: 'netroot_tftp_requests_total',
      help: 'Requests on the listening port by outcome: started (a transfer), not_found, refused, busy (a limit), write_refused (WRQ: read-only server), malformed.',
      labelNames: ['result'],
      read: () =>
        m().flatMap(
          (x) =>
            [
              [{ result: 'started' }, x.transfers],
              [{ result: 'not_found' }, x.notFound],
              [{ result: 'refused' }, x.refused],
              [{ result: 'busy' }, x.busy],
              [{ result: 'write_refused' }, x.wrqRefused],
              [{ result: 'malformed' }, x.malformed],
            ] as const,
        ),
    });
    counterFrom(registry, {
      name: 'netroot_tftp_busy_total',
      help: 'Requests answered busy, by the limit reached: max_transfers (tftp.maxTransfers), per_client (tftp.maxTransfersPerClient), memory (tftp.maxBufferedBytes).',
      labelNames: ['limit'],
      read: () =>
        m().flatMap(
          (x) =>
            [
              [{ limit: 'max_transfers' }, x.busy - x.busyPerClient - x.busyMemory],
              [{ limit: 'per_client' }, x.busyPerClient],
              [{ limit: 'memory' }, x.busyMemory],
            ] as const,
        ),
    });
    counterFrom(registry, {
      name: 'netroot_tftp_transfers_total',
      help: 'Transfers ended: completed (last block acknowledged) or aborted (timeout, client error, failure).',
      labelNames: ['result'],
      read: () =>
        m().flatMap(
          (x) =>
            [
              [{ result: 'completed' }, x.completed],
              [{ result: 'aborted' }, x.aborted],
            ] as const,
        ),
    });
    gaugeFrom(registry, { name: 'netroot_tftp_transfers_active', help: 'TFTP transfers running.', read: () => m().map((x) => [{}, x.active] as const) });
    counter(
      'netroot_tftp_transferred_bytes_total',
      'File bytes clients acknowledged, added when each transfer ends (the whole file when it completed).',
      (x) => x.bytesAcked,
    );
    counter('netroot_tftp_timeouts_total', 'Retransmission timeouts.', (x) => x.timeouts);
    counter('netroot_tftp_retransmits_total', 'Windows sent again (after a timeout or a partial-window ACK).', (x) => x.retransmits);
    counter('netroot_tftp_error_packets_sent_total', 'ERROR packets sent to clients.', (x) => x.errorsSent);
    counter('netroot_tftp_client_errors_total', 'ERROR packets received from clients (each ends its transfer).', (x) => x.clientErrors);
    counter('netroot_tftp_internal_errors_total', 'Internal failures (a file could not be resolved or read).', (x) => x.errors);
    counterFrom(registry, {
      name: 'netroot_tftp_packets_dropped_total',
      help: 'Datagrams dropped: ignored (not a request, on the listening port), bad_transfer_packet, unknown_tid (from another address or port), duplicate_ack.',
      labelNames: ['reason'],
      read: () =>
        m().flatMap(
          (x) =>
            [
              [{ reason: 'ignored' }, x.ignored],
              [{ reason: 'bad_transfer_packet' }, x.badTransferPackets],
              [{ reason: 'unknown_tid' }, x.unknownTid],
              [{ reason: 'duplicate_ack' }, x.duplicateAcks],
            ] as const,
        ),
    });
    gaugeFrom(registry, {
      name: 'netroot_tftp_buffered_bytes',
      help: 'Bytes running transfers hold (windows in flight and read-ahead; limit tftp.maxBufferedBytes).',
      read: () => m().map((x) => [{}, x.bufferedBytes] as const),
    });
  }

  const target = src.iscsi;
  if (target) {
    const x = target.metrics;
    const counter = (name: string, help: string, pick: () => number) => counterFrom(registry, { name, help, read: () => [[{}, pick()]] });
    const gauge = (name: string, help: string, pick: () => number) => gaugeFrom(registry, { name, help, read: () => [[{}, pick()]] });
    gaugeFrom(registry, {
      name: 'netroot_iscsi_sessions',
      help: "iSCSI sessions of the embedded target, by type (normal: a node's disk; discovery: SendTargets).",
      labelNames: ['type'],
      read: () => [
        [{ type: 'normal' }, x.sessions - x.discoverySessions],
        [{ type: 'discovery' }, x.discoverySessions],
      ],
    });
    gauge('netroot_iscsi_connections', 'TCP connections to the portal.', () => x.connections);
    gauge('netroot_iscsi_login_connections', 'Connections still in login phase (limit iscsi.maxLoginConnections).', () => x.loginConnections);
    counterFrom(registry, {
      name: 'netroot_iscsi_logins_total',
      help: 'Logins by result: success (full-feature phase reached), failure (refused: bad CHAP, unknown target, not allowed, out of resources, protocol error) or timeout (login deadlines).',
      labelNames: ['result'],
      read: () => [
        [{ result: 'success' }, x.logins],
        [{ result: 'failure' }, x.loginFailures - x.loginTimeouts],
        [{ result: 'timeout' }, x.loginTimeouts],
      ],
    });
    counter('netroot_iscsi_read_bytes_total', 'SCSI data sent to initiators (Data-In: reads and command answers).', () => x.dataInBytes);
    counter('netroot_iscsi_written_bytes_total', 'SCSI data written by initiators (write commands that succeeded).', () => x.dataOutBytes);
    counter('netroot_iscsi_received_bytes_total', 'Bytes received on iSCSI connections (PDUs with headers).', () => x.bytesIn);
    counter('netroot_iscsi_sent_bytes_total', 'Bytes sent on iSCSI connections (PDUs with headers).', () => x.bytesOut);
    counter('netroot_iscsi_pdus_received_total', 'iSCSI PDUs received from initiators.', () => x.pdusIn);
    counter('netroot_iscsi_pdus_sent_total', 'iSCSI PDUs sent to initiators.', () => x.pdusOut);
    counter('netroot_iscsi_commands_total', 'SCSI commands received.', () => x.commands);
    counter('netroot_iscsi_task_management_requests_total', 'Task management requests (abort, LUN reset...).', () => x.tmfs);
    counter('netroot_iscsi_rejects_total', 'Reject PDUs sent.', () => x.rejects);
    counter('netroot_iscsi_malformed_pdus_total', 'PDUs that did not decode or failed a digest.', () => x.malformedPdus);
    counter('netroot_iscsi_cmdsn_dropped_total', 'Commands outside the CmdSN window, ignored (RFC 7143 §4.2.2.1).', () => x.cmdSnDropped);
    counterFrom(registry, {
      name: 'netroot_iscsi_refused_total',
      help: 'Admission refusals: connection (reset on accept, login-phase limits) or discovery_session (discovery session limits).',
      labelNames: ['what'],
      read: () => [
        [{ what: 'connection' }, x.connectionsRefused],
        [{ what: 'discovery_session' }, x.discoveryRefused],
      ],
    });
    counter('netroot_iscsi_discovery_timeouts_total', 'Discovery sessions closed by their deadlines.', () => x.discoveryTimeouts);
  }

  counterFrom(registry, {
    name: 'netroot_discovery_events_total',
    help: 'Discovery: discovered (a DISCOVER from an unknown MAC reached insert-ethers), added (insert-ethers added a host for it), failed (adding it failed).',
    labelNames: ['event'],
    read: () => {
      const h = src.hub.metrics;
      return [
        [{ event: 'discovered' }, h.discovered],
        [{ event: 'added' }, h.added],
        [{ event: 'failed' }, h.addFailed],
      ];
    },
  });
  counterFrom(registry, {
    name: 'netroot_discovery_plugin_failures_total',
    help: 'Plugin hooks that failed or timed out, by plugin and hook (added, removed, changed, update, done).',
    labelNames: ['plugin', 'hook'],
    read: () => src.hosts.pluginFailures().map((f) => [{ plugin: f.plugin, hook: f.hook }, f.count] as const),
  });
}

/** The process metrics' prefix: prom-client's default names (process_*, nodejs_*) behind `netroot_`. */
export const PROCESS_METRICS_PREFIX = 'netroot_';

/**
 * prom-client's gauges whose names end in `_total` (Prometheus reserves that suffix for counters):
 * each is the sum of the labelled gauge of the same name without it (nodejs_active_handles{type}),
 * so they are removed rather than renamed.
 */
const MISNAMED_DEFAULTS = ['nodejs_active_resources_total', 'nodejs_active_handles_total', 'nodejs_active_requests_total'];

/**
 * Node process metrics (CPU, memory, open fds, event-loop lag, heap, GC, version) on this registry
 * only — prom-client's collectDefaultMetrics with the `netroot_` prefix (docs/METRICS.md lists them).
 */
export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: PROCESS_METRICS_PREFIX });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(PROCESS_METRICS_PREFIX + name);
}

/** How long /readyz waits for the store's write lock, and for the whole store check. */
export const READY_STORE_WAIT_MS = 1000;
export const READY_STORE_DEADLINE_MS = 3000;

/**
 * /readyz: every enabled service listens and the store takes a write. A failed check names what is
 * wrong without a path or a secret.
 */
export async function readiness(listening: () => Record<string, boolean>, store: Store): Promise<Readiness> {
  const checks: Record<string, string> = {};
  for (const [service, up] of Object.entries(listening())) checks[service] = up ? 'ok' : 'not listening';
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      store.probeWritable(READY_STORE_WAIT_MS),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`no answer in ${READY_STORE_DEADLINE_MS} ms`), { code: 'TIMEOUT' })), READY_STORE_DEADLINE_MS);
        timer.unref();
      }),
    ]);
    checks['store'] = 'ok';
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    checks['store'] = `not writable (${typeof code === 'string' ? code : 'error'}: ${(e as Error).message.slice(0, 200)})`;
  } finally {
    clearTimeout(timer);
  }
  const notReady = Object.keys(checks).filter((k) => checks[k] !== 'ok');
  return { ready: notReady.length === 0, notReady, checks };
}
