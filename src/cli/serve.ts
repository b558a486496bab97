// `netroot serve` — runs the frontend in the foreground until SIGINT/SIGTERM.
import type { CliContext } from './context.js';
import { parse, noExtra } from './args.js';
import { createFrontend } from '../app/frontend.js';
import { safeUrl } from '../store/index.js';
import { untilStopSignal } from './until-signal.js';
import { Heartbeat, serverAddresses } from '../app/heartbeat.js';
import { version } from './version.js';
import { externalServices } from '../app/external-services.js';
import { LOG_FLAG_OPTIONS, LOG_FLAGS_USAGE, logChoice } from './log-flags.js';

export const USAGE = `netroot serve [--state-dir DIR] [--config FILE] [--set key=value]... ${LOG_FLAGS_USAGE}`;

/** The services that do not run, each with the setting that turns it off (said at start). */
export function offServices(c: CliContext['config']): string[] {
  const off: string[] = [];
  if (c.dhcp.interfaces.length === 0)
    off.push(
      'dhcp: dhcp.interfaces is empty (name the provisioning interface, e.g. --set dhcp.interfaces=eth1); until then no machine boots and insert-ethers sees none',
    );
  else if (!c.dhcp.routerAdvertisement) off.push('ra: dhcp.routerAdvertisement is false (iPXE waits ~16 s for IPv6 router advertisements on every boot)');
  if (!c.tftp.enabled) off.push('tftp: tftp.enabled is false (PXE ROMs cannot load iPXE from this frontend)');
  if (!c.iscsi.enabled) off.push('iscsi: iscsi.enabled is false');
  else if (!c.storage.local) off.push(`iscsi: storage.local is false (volumes live on ${c.storage.nodes.length} storage node(s))`);
  return off;
}

/**
 * What the start report warns of (issue #21). A frontend that is its own storage node
 * (storage.local, the default) writes its own address into the `iscsi_portal` of every volume it
 * allocates: that node's root is then served by this frontend alone, whichever server boots it. On
 * a shared store (store.url: several `netroot serve` may run) that defeats the failover the shared
 * store is for, so it is said at every start; the fix is storage.local=false with storage.nodes
 * (each `netroot storage serve`), as the failover lab runs.
 */
export function startWarnings(c: CliContext['config']): string[] {
  const w: string[] = [];
  if (c.store.url && c.storage.local && c.iscsi.enabled)
    w.push(
      `storage.local is true on a shared store: the volumes this server allocates are served by this frontend alone ` +
        `(their iscsi_portal is ${c.iscsi.portal || c.network.frontendAddress}, iscsi.portal or network.frontendAddress), so their nodes cannot boot while it is down, ` +
        `whichever server answers them; with several frontends set storage.local=false and name storage nodes (storage.nodes, each \`netroot storage serve\`)`,
    );
  return w;
}

export async function serveCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const { values: v, positionals: p } = parse(argv, LOG_FLAG_OPTIONS, USAGE);
  noExtra(p, 0, USAGE);
  // The store first (ctx closes it): PostgreSQL unreachable is one line and exit 1, before any socket.
  const store = await ctx.openStore();
  const logger = ctx.logger(logChoice(v));
  // This server in the store's servers table (`netroot servers`), beating until stop. It beats
  // before any service starts: a claim its plugins take (they name this id) must never be seen
  // without a live row, or another server would judge it abandoned.
  const heartbeat = new Heartbeat(
    store.servers,
    { hostName: '', addresses: serverAddresses(ctx.config.network.frontendAddress), pid: process.pid, version: version() },
    ctx.config.servers.heartbeatSeconds,
    logger.child({ svc: 'heartbeat' }),
  );
  await heartbeat.start();
  const frontend = createFrontend(ctx.config, { store, logger, serverId: heartbeat.info.id });
  try {
    await frontend.start();
  } catch (e) {
    // start() has closed every service it opened (nothing keeps the process alive); stop() closes
    // the store. The error reaches main.ts: `netroot: <message>`, exit non-zero, and systemd restarts.
    await heartbeat.stop();
    await frontend.stop().catch(() => undefined);
    throw e;
  }
  // Listening for the stop signal before the start lines are printed: whoever waits for them (a
  // test, a supervisor) may send SIGTERM at once, and must not kill the process without its stop().
  const stopSignal = untilStopSignal();
  const c = ctx.config;
  const tftp = frontend.tftp();
  const parts = [
    ...(c.store.url ? [`store ${safeUrl(c.store.url)}`] : []),
    `http on ${c.http.host}:${frontend.httpPort()}`,
    ...(tftp ? [`tftp on ${c.tftp.host}:${tftp.port()} (${tftp.linkKind} link)`] : []),
    ...(frontend.storage.target ? [`iscsi on ${c.iscsi.host}:${frontend.storage.iscsiPort()}`] : []),
    ...(c.storage.local && c.iscsi.enabled && c.storage.backend !== 'embedded' ? [`iscsi by ${c.storage.backend} on port ${c.iscsi.port}`] : []),
    ...(c.dhcp.interfaces.length > 0 ? [`dhcp on ${c.dhcp.interfaces.join(' ')}`] : []),
    ...(frontend.routerAdvertiser() ? [`router advertisements on ${c.dhcp.interfaces.join(' ')}`] : []),
  ];
  ctx.io.out(`netroot: serving ${c.stateDir} — ${parts.join(', ')}\n`);
  const off = offServices(c);
  if (c.dhcp.interfaces.length > 0 && c.dhcp.routerAdvertisement && !frontend.routerAdvertiser())
    off.push('ra: this kernel has no IPv6 (booted with ipv6.disable=1)');
  if (off.length > 0) ctx.io.out(`netroot: off — ${off.join('; ')}\n`);
  const warnings = startWarnings(c);
  for (const w of warnings) logger.warn(w, { svc: 'serve' });
  if (warnings.length > 0) ctx.io.out(`netroot: warning — ${warnings.join('; ')}\n`);
  const external = await externalServices(c);
  if (external.length > 0) ctx.io.out(`netroot: external — ${external.join('; ')}\n`);
  await stopSignal;
  await heartbeat.stop();
  await frontend.stop();
  return 0;
}
