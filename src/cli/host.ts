// `netroot host add|list|show|remove|set|interface` — the hosts table, like Rocks' `rocks add/list/set
// host`. Changes go through the host service (src/discovery/host-service.ts) — via the running
// frontend's REST API, else in this process (frontend-or-local.ts) — so the insert-ethers plugins
// run for them too: a diskless host gets (and on remove loses) its iSCSI volume, the hosts file
// follows. NAME arguments of remove/show/set are hostlists (hostlist.ts): compute-0-[0-15].
import type { CliContext } from './context.js';
import { parse, needPositional, noExtra, keyValues, intFlag, badVerb } from './args.js';
import { table, json } from './output.js';
import { UserError } from '../errors.js';
import { mustMac, mustIPv4 } from '../net/address.js';
import type { Host } from '../store/index.js';
import { KickstartService } from '../boot/kickstart.js';
import { imageOfBootPath, OS_IMAGE_ATTRIBUTE } from '../boot/os-image.js';
import { validHostname } from '../validate/hostname.js';
import { parseBootAction, parseHostState, type AddedHost, type HostChanges, type HostSpec, type RemovedHost } from '../discovery/host-service.js';
import { hostAttributes, VOLUME_ATTRIBUTE } from '../discovery/plugins/iscsi-allocation.js';
import { FrontendOrLocal } from './frontend-or-local.js';
import { confirmOrRefuse } from './confirm.js';
import { expandHostlists, isHostlist } from './hostlist.js';
import { hostInterfaceCommand, INTERFACE_USAGE } from './host-interface.js';
import { hostBmcCommand, BMC_USAGE } from './host-bmc.js';
import { rebootIntoNewBoot } from './power.js';

export { validHostname, parseBootAction };

export const USAGE = `netroot host add NAME --appliance A --mac MAC [--ip IP] [--rack R] [--rank K] [--os OS] [--arch ARCH] [--device DEV] [--subnet CIDR] [--boot ACTION]
       netroot host list [--appliance A] [--json]
       netroot host show NAME... [--json]
       netroot host remove NAME... [--keep-volume] [--yes]
       netroot host set NAME key=value... [--yes] [--reboot] (boot=install|os|local|sanboot|reset, appliance=, rack=, rank=, os=, arch=, state=, ip=, mac=)
         --reboot: then power-cycle each host into its new boot through its BMC (next boot: PXE)
${INTERFACE_USAGE}
${BMC_USAGE}
  NAME may be a hostlist: compute-0-[0-15], compute-[0-1]-[0-3], compute-0-[1,3,5-7] (at most 4096 names).`;

interface ImageStatus {
  name: string | null;
  /** null when the image is whole (or none is chosen); the registry's message otherwise. */
  problem: string | null;
}

/** The host's os_image and, when its diskless boot record points into another image, that one. */
async function imagesOf(ctx: CliContext, h: Host, bootPaths: string[]): Promise<{ osImage: ImageStatus; bootImage: ImageStatus | null }> {
  const k = new KickstartService(ctx.store, ctx.config);
  const status = async (name: string | null): Promise<ImageStatus> => ({
    name,
    problem:
      name === null
        ? null
        : await k.images.get(name, null).then(
            () => null,
            (e: Error) => e.message,
          ),
  });
  const chosen = (await k.storedAttributesOf(h))[OS_IMAGE_ATTRIBUTE] || null;
  const booted = bootPaths.map(imageOfBootPath).find((n) => n !== null) ?? null;
  return { osImage: await status(chosen), bootImage: booted !== null && booted !== chosen ? await status(booted) : null };
}

const imageLine = (i: ImageStatus) => `${i.name} (${i.problem === null ? 'ok' : `PROBLEM: ${i.problem}`})`;

function hostRow(h: Host): Array<string | number | null> {
  const i = h.interfaces[0];
  return [h.name, h.appliance, h.rack, h.rank, i?.mac ?? null, i?.ip ?? null, h.bootAction, h.state];
}

export async function hostCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'add':
      return add(ctx, rest);
    case 'list': {
      const { values: v, positionals: p } = parse(rest, { appliance: { type: 'string' } }, USAGE);
      noExtra(p, 0, USAGE);
      const hosts = await ctx.store.hosts.list(v.appliance ? { appliance: v.appliance } : {});
      ctx.io.out(v.json ? json(hosts) : table(['HOST', 'APPLIANCE', 'RACK', 'RANK', 'MAC', 'IP', 'BOOT', 'STATE'], hosts.map(hostRow)));
      return 0;
    }
    case 'show':
      return show(ctx, rest);
    case 'remove':
      return remove(ctx, rest);
    case 'set':
      return set(ctx, rest);
    case 'interface':
      return hostInterfaceCommand(ctx, rest, USAGE);
    case 'bmc':
      return hostBmcCommand(ctx, rest, USAGE);
    default:
      throw badVerb('host', verb, USAGE);
  }
}

/** What `host add` and `insert-ethers --mac` print when a name took back its kept volume. */
export function reusedLine(h: AddedHost): string {
  return h.reusedVolume
    ? `${h.name} took back the iSCSI volume ${h.reusedVolume} kept by an earlier remove --keep-volume: its old data is on it (remove it with: netroot host remove ${h.name} --yes, then add again)\n`
    : '';
}

async function add(ctx: CliContext, rest: string[]): Promise<number> {
  const { values: v, positionals: p } = parse(
    rest,
    {
      appliance: { type: 'string' },
      mac: { type: 'string' },
      ip: { type: 'string' },
      rack: { type: 'string' },
      rank: { type: 'string' },
      os: { type: 'string' },
      arch: { type: 'string' },
      device: { type: 'string' },
      subnet: { type: 'string' },
      boot: { type: 'string' },
    },
    USAGE,
  );
  needPositional(p, 1, USAGE);
  noExtra(p, 1, USAGE);
  // Checked here too, so a bad argument is refused before the frontend is asked.
  const spec: HostSpec = { name: validHostname(p[0]!), appliance: '', mac: '' };
  if (!v.appliance) throw new UserError('E_USAGE', `--appliance is required\nusage: ${USAGE}`);
  if (!v.mac) throw new UserError('E_USAGE', `--mac is required\nusage: ${USAGE}`);
  spec.appliance = v.appliance;
  spec.mac = mustMac(v.mac, 'mac');
  if (v.ip !== undefined) {
    mustIPv4(v.ip, 'ip');
    spec.ip = v.ip;
  }
  spec.rack = intFlag(v.rack, 'rack');
  spec.rank = intFlag(v.rank, 'rank');
  spec.bootAction = v.boot === undefined ? undefined : parseBootAction(v.boot);
  for (const k of ['os', 'arch', 'device', 'subnet'] as const) if (v[k] !== undefined) spec[k] = v[k];
  for (const k of Object.keys(spec) as Array<keyof HostSpec>) if (spec[k] === undefined) delete spec[k];
  const via = new FrontendOrLocal(ctx);
  const h = await via.run(
    (api) => api.call<AddedHost>('POST', '/api/v1/hosts', spec),
    (e) => e.addHost(spec, 'cli'),
  );
  ctx.io.out(v.json ? json(h) : `added ${h.name} (${h.appliance}, rack ${h.rack}, rank ${h.rank})\n${reusedLine(h)}`);
  return 0;
}

/** NAME arguments → existing host names; an unknown one is refused before anything changes. */
async function namedHosts(ctx: CliContext, args: readonly string[]): Promise<Host[]> {
  const out: Host[] = [];
  for (const name of expandHostlists(args)) {
    const h = await ctx.store.hosts.get(name);
    if (!h)
      throw new UserError(
        'E_HOST_NOT_FOUND',
        `unknown host ${JSON.stringify(name)}${args.length === 1 && args[0] === name ? '' : ` (from ${args.join(' ')})`}`,
      );
    out.push(h);
  }
  return out;
}

async function show(ctx: CliContext, rest: string[]): Promise<number> {
  const { values: v, positionals: p } = parse(rest, {}, USAGE);
  needPositional(p, 1, USAGE);
  const hosts = await namedHosts(ctx, p);
  const views = [];
  for (const h of hosts) {
    const boot = await ctx.store.boot.get(h.name);
    const { osImage, bootImage } = await imagesOf(ctx, h, boot ? [boot.kernel, boot.initrd] : []);
    if (v.json)
      views.push(
        json({
          ...h,
          boot,
          osImage: osImage.name,
          osImageProblem: osImage.problem,
          ...(bootImage ? { bootImage: bootImage.name, bootImageProblem: bootImage.problem } : {}),
        }),
      );
    else {
      const lines = [
        `host:       ${h.name}`,
        `appliance:  ${h.appliance}`,
        `rack/rank:  ${h.rack}/${h.rank}`,
        `os/arch:    ${h.os}/${h.arch}`,
        `boot:       ${h.bootAction}`,
        `state:      ${h.state}${h.stateDetail ? ` (${h.stateDetail})` : ''}`,
        `created:    ${h.createdAt}`,
        ...h.interfaces.map((i) => `interface:  ${i.device} ${i.mac} ${i.ip ?? '-'} ${i.subnet ?? ''}`.trimEnd()),
        ...(boot ? [`os kernel:  ${boot.kernel}`, `os initrd:  ${boot.initrd}${boot.overlay ? ' + ' + boot.overlay : ''}`, `os args:    ${boot.args}`] : []),
        ...(osImage.name !== null ? [`image:      ${imageLine(osImage)}`] : []),
        ...(bootImage ? [`boot image: ${imageLine(bootImage)} (the diskless boot record's, not os_image)`] : []),
      ];
      views.push(lines.join('\n') + '\n');
    }
  }
  // --json: one object for one plain NAME (as before hostlists), an array otherwise.
  if (v.json) ctx.io.out(p.length === 1 && !isHostlist(p[0]!) ? views[0]! : `[\n${views.map((x) => x.trimEnd()).join(',\n')}\n]\n`);
  else ctx.io.out(views.join('\n'));
  return 0;
}

/** What removing these hosts destroys, as the confirmation asks it (`host remove`, `insert-ethers --remove`). */
export async function removalQuestion(ctx: CliContext, hosts: readonly Host[], keep: boolean): Promise<string> {
  const volumes: string[] = [];
  for (const h of hosts) {
    const vol = (await hostAttributes(ctx.store, h.name))[VOLUME_ATTRIBUTE];
    if (vol) volumes.push(vol);
  }
  const names = hosts.length === 1 ? hosts[0]!.name : `${hosts.length} hosts (${hosts[0]!.name} … ${hosts[hosts.length - 1]!.name})`;
  const what =
    volumes.length === 0
      ? ''
      : keep
        ? ` (${volumes.length === 1 ? `its iSCSI volume ${volumes[0]} is kept` : `${volumes.length} iSCSI volumes are kept`})`
        : ` and delete ${volumes.length === 1 ? `its iSCSI volume ${volumes[0]} (its whole root filesystem)` : `${volumes.length} iSCSI volumes (their whole root filesystems)`}`;
  return `this will remove ${names}${what}`;
}

async function remove(ctx: CliContext, rest: string[]): Promise<number> {
  const { values: v, positionals: p } = parse(rest, { 'keep-volume': { type: 'boolean' }, yes: { type: 'boolean' } }, USAGE);
  needPositional(p, 1, USAGE);
  const hosts = await namedHosts(ctx, p);
  const keep = v['keep-volume'] === true;
  await confirmOrRefuse(await removalQuestion(ctx, hosts, keep), v.yes);
  const via = new FrontendOrLocal(ctx);
  const removed: RemovedHost[] = [];
  for (const h of hosts) {
    const r = await via.run(
      (api) => api.call<RemovedHost>('DELETE', `/api/v1/hosts/${encodeURIComponent(h.name)}${keep ? '?keepVolume=1' : ''}`),
      (e) => e.remove(h.name, { keepVolume: keep, by: 'cli' }),
    );
    removed.push(r);
    if (!v.json)
      ctx.io.out(
        `removed ${r.name}${r.volume === null ? '' : r.volume.kept ? ` (volume ${r.volume.name} kept: the next host named ${r.name} takes it back)` : ` (volume ${r.volume.name} deleted)`}\n`,
      );
  }
  if (v.json) ctx.io.out(json(removed));
  return 0;
}

const SET_KEYS = 'boot, appliance, rack, rank, os, arch, state, ip, mac';

async function set(ctx: CliContext, rest: string[]): Promise<number> {
  const { values: v, positionals: p } = parse(rest, { yes: { type: 'boolean' }, reboot: { type: 'boolean' } }, USAGE);
  needPositional(p, 2, USAGE);
  const kv = keyValues(p.slice(1), USAGE);
  const c: HostChanges = {};
  for (const [k, val] of Object.entries(kv)) {
    switch (k) {
      case 'boot':
        c.bootAction = val === 'reset' ? 'reset' : parseBootAction(val);
        break;
      case 'appliance':
        c.appliance = val;
        break;
      case 'rack':
        c.rack = intFlag(val, 'rack')!;
        break;
      case 'rank':
        c.rank = intFlag(val, 'rank')!;
        break;
      case 'os':
        c.os = val;
        break;
      case 'arch':
        c.arch = val;
        break;
      case 'state':
        c.state = parseHostState(val);
        break;
      case 'ip':
        mustIPv4(val, 'ip');
        c.ip = val;
        break;
      case 'mac':
        c.mac = mustMac(val, 'mac');
        break;
      default:
        throw new UserError('E_USAGE', `unknown host field ${JSON.stringify(k)} (one of ${SET_KEYS})\nusage: ${USAGE}`);
    }
  }
  const hosts = await namedHosts(ctx, [p[0]!]);
  if ((c.ip !== undefined || c.mac !== undefined) && hosts.length > 1)
    throw new UserError('E_USAGE', `ip= and mac= belong to one host, and ${p[0]} names ${hosts.length}`);
  if (c.mac !== undefined && (await hostAttributes(ctx.store, hosts[0]!.name))[VOLUME_ATTRIBUTE])
    await confirmOrRefuse(`${hosts[0]!.name}'s iSCSI volume (its whole root filesystem) will belong to ${c.mac}`, v.yes);
  const via = new FrontendOrLocal(ctx);
  const changed: Host[] = [];
  for (const h of hosts) {
    changed.push(
      await via.run(
        (api) => api.call<Host>('PATCH', `/api/v1/hosts/${encodeURIComponent(h.name)}`, c),
        (e) => e.set(h.name, c, 'cli'),
      ),
    );
    if (!v.json)
      ctx.io.out(
        `${h.name}: ${Object.entries(kv)
          .map(([k, x]) => `${k}=${x}`)
          .join(' ')}\n`,
      );
  }
  if (v.json) ctx.io.out(json(hosts.length === 1 && !isHostlist(p[0]!) ? changed[0] : changed));
  // The change is made; a power failure is reported (stderr, a 'power' event) but does not fail it.
  if (v.reboot === true)
    await rebootIntoNewBoot(
      ctx,
      hosts.map((h) => h.name),
    );
  return 0;
}

export async function mustHost(ctx: CliContext, name: string): Promise<Host> {
  const h = await ctx.store.hosts.get(name);
  if (!h) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`, { where: 'host' });
  return h;
}
