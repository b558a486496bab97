// `netroot insert-ethers` — grow the cluster by powering machines on (after Rocks' insert-ethers).
// The running frontend does the work (its DHCP server sees the machines; plugins such as the iSCSI
// allocation run there); this command opens a session through the REST API and shows what happens.
// Interactive on a terminal: a live list, `( )` discovered, `(*)` kickstart fetched, then
// installed/booted; `q` quits. Batch: --count N waits for N machines; --mac M registers one machine
// before its first DHCP request (works without a running frontend too: same engine and plugins).
import type { CliContext } from './context.js';
import { parse, noExtra, intFlag } from './args.js';
import { json } from './output.js';
import { UserError } from '../errors.js';
import { ApiClient } from './api-client.js';
import type { Host } from '../store/index.js';
import type { SessionView, SessionMachine } from '../discovery/hub.js';
import type { InsertOptions } from '../discovery/engine.js';
import type { AddedHost, RemovedHost } from '../discovery/host-service.js';
import { FrontendOrLocal } from './frontend-or-local.js';
import { confirmOrRefuse } from './confirm.js';
import { removalQuestion, reusedLine } from './host.js';
import { rebootIntoNewBoot } from './power.js';

export const USAGE = `netroot insert-ethers [--appliance A] [--basename B] [--rack R|--cabinet R] [--rank K] [--hostname H] [--ipaddr IP]
                             [--baseip IP] [--inc N] [--count N] [--mac MAC] [--timeout SECONDS] [--json]
       netroot insert-ethers --replace HOST --mac MAC [--yes] [--reboot]
         --reboot: then power-cycle HOST into its boot through its BMC entry (next boot: PXE; set the
                   new machine's BMC first with netroot host bmc set if it has another one)
       netroot insert-ethers --remove HOST [--keep-volume] [--yes]
       netroot insert-ethers --update`;

export function mark(state: string): string {
  switch (state) {
    case 'discovered':
      return '( )';
    case 'failed':
      return '(!)';
    default:
      return '(*)';
  }
}

/** A session line's note when the machine took back a kept volume (its old data is on it). */
const reused = (m: SessionMachine) => (m.reusedVolume ? ` (took back kept volume ${m.reusedVolume}: old data)` : '');

export function renderScreen(v: SessionView, appliance: string): string {
  const lines = [
    `netroot insert-ethers — appliance ${appliance}${v.count ? `, waiting for ${v.count}` : ''}`,
    'Power on the machines one by one. Press q to quit.',
    '',
    'MAC                HOST                  STATE',
    ...v.machines.map(
      (m: SessionMachine) => `${m.mac}  ${(m.host ?? '-').padEnd(20)}  ${mark(m.state)} ${m.state}${m.error ? ': ' + m.error : ''}${reused(m)}`,
    ),
    '',
  ];
  return lines.join('\n') + '\n';
}

export async function insertEthersCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const { values: v, positionals: p } = parse(
    argv,
    {
      appliance: { type: 'string' },
      basename: { type: 'string' },
      rack: { type: 'string' },
      cabinet: { type: 'string' },
      rank: { type: 'string' },
      hostname: { type: 'string' },
      ipaddr: { type: 'string' },
      baseip: { type: 'string' },
      inc: { type: 'string' },
      replace: { type: 'string' },
      remove: { type: 'string' },
      'keep-volume': { type: 'boolean' },
      update: { type: 'boolean' },
      count: { type: 'string' },
      mac: { type: 'string' },
      timeout: { type: 'string' },
      yes: { type: 'boolean' },
      reboot: { type: 'boolean' },
    },
    USAGE,
  );
  noExtra(p, 0, USAGE);
  if (v.reboot === true && v.replace === undefined) throw new UserError('E_USAGE', `--reboot goes with --replace\nusage: ${USAGE}`);
  const api = new ApiClient(ctx.config);
  const via = new FrontendOrLocal(ctx);
  const out = (x: unknown, text: string) => ctx.io.out(v.json ? json(x) : text);

  if (v.remove !== undefined) {
    // As `host remove`: on a terminal, ask; in scripts, --yes is the confirmation.
    const host = await ctx.store.hosts.get(v.remove);
    if (!host) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(v.remove)}`, { where: 'remove' });
    await confirmOrRefuse(await removalQuestion(ctx, [host], v['keep-volume'] === true), v.yes);
    const r = await via.run(
      (a) => a.call<RemovedHost>('DELETE', `/api/v1/hosts/${encodeURIComponent(v.remove!)}${v['keep-volume'] ? '?keepVolume=1' : ''}`),
      (e) => e.remove(v.remove!, { keepVolume: v['keep-volume'] ?? false, by: 'insert-ethers' }),
    );
    out(
      { removed: v.remove, volume: r.volume },
      `removed ${v.remove}${r.volume === null ? '' : r.volume.kept ? ` (volume ${r.volume.name} kept)` : ` (volume ${r.volume.name} deleted)`}\n`,
    );
    return 0;
  }
  if (v.update) {
    await via.run(
      (a) => a.call('POST', '/api/v1/update'),
      (e) => e.update(),
    );
    out({ updated: true }, 'plugins updated\n');
    return 0;
  }
  if (v.replace !== undefined) {
    if (!v.mac) throw new UserError('E_USAGE', `--replace needs --mac of the new machine\nusage: ${USAGE}`);
    // On a terminal, ask; in scripts, --yes is the confirmation.
    await confirmOrRefuse(`${v.replace}'s iSCSI volume (its whole root filesystem) will belong to ${v.mac}`, v.yes);
    const h = await via.run(
      (a) => a.call<Host>('POST', `/api/v1/hosts/${encodeURIComponent(v.replace!)}/replace`, { mac: v.mac }),
      (e) => e.replace(v.replace!, v.mac!),
    );
    out(h, `${h.name} is now ${v.mac} (name, address and volume kept)\n`);
    // The replacement is made; a power failure is reported (stderr, a 'power' event), never fatal.
    if (v.reboot === true) await rebootIntoNewBoot(ctx, [h.name]);
    return 0;
  }

  const options: InsertOptions = {
    appliance: v.appliance ?? 'compute-diskless',
    basename: v.basename,
    rack: intFlag(v.rack ?? v.cabinet, 'rack'),
    rank: intFlag(v.rank, 'rank'),
    hostname: v.hostname,
    ipaddr: v.ipaddr,
    baseip: v.baseip,
    inc:
      v.inc === undefined
        ? undefined
        : Number.isInteger(Number(v.inc)) && v.inc.trim() !== ''
          ? Number(v.inc)
          : (() => {
              throw new UserError('E_USAGE', `--inc: expected a whole number, got ${JSON.stringify(v.inc)}`);
            })(),
  };
  for (const k of Object.keys(options) as Array<keyof InsertOptions>) if (options[k] === undefined) delete options[k];

  if (v.mac !== undefined) {
    const h = await via.run(
      (a) => a.call<AddedHost>('POST', '/api/v1/hosts', { ...options, mac: v.mac }),
      (e) => e.add({ mac: v.mac! }, options),
    );
    out(h, `added ${h.name} ${h.interfaces[0]?.mac ?? ''} ${h.interfaces[0]?.ip ?? ''}\n${reusedLine(h)}`);
    return 0;
  }

  const count = intFlag(v.count, 'count', 1) ?? null;
  const timeoutMs = (intFlag(v.timeout, 'timeout', 1) ?? 0) * 1000;
  const interactive = count === null && !v.json && process.stdout.isTTY === true && process.stdin.isTTY === true;
  if (count === null && !interactive) throw new UserError('E_USAGE', `without a terminal, give --count N (or --mac M)\nusage: ${USAGE}`);

  let session = await api.call<SessionView>('POST', '/api/v1/discoveries/sessions', { options, count });
  // Said once the frontend is listening: power machines on from here (a script can wait for it).
  if (!interactive)
    ctx.io.err(`insert-ethers: listening for new machines (appliance ${options.appliance ?? 'default'}${count !== null ? `, ${count} to add` : ''})\n`);
  if (session.fedBy !== undefined && session.fedBy.length === 0) {
    // Rocks' insert-ethers read syslog; ours hears the frontend's own DHCP server. With it off,
    // waiting would look like machines that never ask.
    ctx.io.err(
      'insert-ethers: warning: the frontend runs no DHCP server (dhcp.interfaces is empty), so no machine will be seen; set it to the provisioning interface (e.g. dhcp.interfaces: [eth1] in netroot.yaml) and restart netroot serve\n',
    );
  }
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  let quit = false;
  const restore = interactive ? listenForQuit(() => (quit = true)) : () => {};
  try {
    for (;;) {
      if (interactive) ctx.io.out('\x1b[2J\x1b[H' + renderScreen(session, options.appliance));
      const added = session.machines.filter((m) => m.host).length;
      if (quit || (count !== null && added >= count) || !session.open) break;
      if (Date.now() > deadline) {
        throw new UserError('E_TIMEOUT', `timed out after ${timeoutMs / 1000} s with ${added} of ${count ?? '?'} machine(s)`);
      }
      session = await api.call<SessionView>('GET', `/api/v1/discoveries/sessions/${session.id}?after=${session.version}&wait=${interactive ? 500 : 2000}`);
    }
  } finally {
    restore();
    session = await api.call<SessionView>('DELETE', `/api/v1/discoveries/sessions/${session.id}`).catch(() => session);
  }
  if (v.json) ctx.io.out(json(session.machines));
  else if (!interactive)
    ctx.io.out(
      session.machines.map((m) => `${m.mac} ${m.host ?? '-'} ${mark(m.state)} ${m.state}${m.error ? ': ' + m.error : ''}${reused(m)}`).join('\n') + '\n',
    );
  return session.machines.some((m) => m.error) ? 1 : 0;
}

function listenForQuit(onQuit: () => void): () => void {
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  const onData = (d: Buffer) => {
    const k = d.toString();
    if (k === 'q' || k === 'Q' || k === '\x03') onQuit();
  };
  stdin.on('data', onData);
  return () => {
    stdin.off('data', onData);
    stdin.setRawMode(false);
    stdin.pause();
  };
}
