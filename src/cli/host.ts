// `netroot host add|list|show|remove|set` — the hosts table, like Rocks' `rocks add/list/set host`.
import type { CliContext } from './context.js';
import { parse, needPositional, noExtra, keyValues, intFlag, badVerb } from './args.js';
import { table, json } from './output.js';
import { UserError } from '../errors.js';
import { mustMac, mustIPv4 } from '../net/address.js';
import { BOOT_ACTIONS, HOST_STATES, type BootAction, type Host, type HostPatch, type HostState } from '../store/index.js';
import { KickstartService } from '../boot/kickstart.js';
import { imageOfBootPath, OS_IMAGE_ATTRIBUTE } from '../boot/os-image.js';

export const USAGE = `netroot host add NAME --appliance A --mac MAC [--ip IP] [--rack R] [--rank K] [--os OS] [--arch ARCH] [--device DEV] [--subnet CIDR]
       netroot host list [--appliance A] [--json]
       netroot host show NAME [--json]
       netroot host remove NAME
       netroot host set NAME key=value... (boot=install|os|local|sanboot, appliance=, rack=, rank=, os=, arch=, state=)`;

const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function validHostname(name: string): string {
  if (!HOSTNAME.test(name)) throw new UserError('E_BAD_HOSTNAME', `not a valid host name: ${JSON.stringify(name)} (lower-case letters, digits and '-', at most 63)`, { where: 'name' });
  return name;
}

export function parseBootAction(v: string): BootAction {
  if (!(BOOT_ACTIONS as readonly string[]).includes(v)) throw new UserError('E_BAD_BOOT_ACTION', `boot action must be one of ${BOOT_ACTIONS.join(', ')}, got ${JSON.stringify(v)}`, { where: 'boot' });
  return v as BootAction;
}

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
    problem: name === null ? null : await k.images.get(name, null).then(() => null, (e: Error) => e.message),
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
    case 'add': {
      const { values: v, positionals: p } = parse(rest, {
        appliance: { type: 'string' }, mac: { type: 'string' }, ip: { type: 'string' }, rack: { type: 'string' }, rank: { type: 'string' },
        os: { type: 'string' }, arch: { type: 'string' }, device: { type: 'string' }, subnet: { type: 'string' }, boot: { type: 'string' },
      }, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      const name = validHostname(p[0]!);
      if (!v.appliance) throw new UserError('E_USAGE', `--appliance is required\nusage: ${USAGE}`, { where: 'appliance' });
      if (!v.mac) throw new UserError('E_USAGE', `--mac is required\nusage: ${USAGE}`, { where: 'mac' });
      const mac = mustMac(v.mac, 'mac');
      if (v.ip !== undefined) mustIPv4(v.ip, 'ip');
      // Rocks names encode rack and rank: compute-1-3 → rack 1, rank 3, unless given.
      const m = /-(\d+)-(\d+)$/.exec(name);
      let rack = intFlag(v.rack, 'rack') ?? (m ? Number(m[1]) : 0);
      const appliance = await ctx.store.appliances.get(v.appliance);
      if (!appliance) throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(v.appliance)}`, { where: 'appliance' });
      const rank = intFlag(v.rank, 'rank') ?? (m ? Number(m[2]) : (await ctx.store.hosts.maxRank(appliance.basename, rack)) + 1);
      const bootAction = v.boot ? parseBootAction(v.boot) : 'install';
      // Host, interface and event in one transaction: a failure leaves none of them behind.
      const h = await ctx.store.transaction(async (tx) => {
        const added = await tx.hosts.add({
          name, appliance: v.appliance!, rack, rank, os: v.os ?? 'linux', arch: v.arch ?? 'x86_64', bootAction,
          interfaces: [{ mac, ip: v.ip ?? null, subnet: v.subnet ?? ctx.config.network.privateNetwork, device: v.device ?? 'eth0' }],
        });
        await tx.events.append({ kind: 'host.added', host: added.name, mac, detail: { by: 'cli' } });
        return added;
      });
      ctx.io.out(v.json ? json(h) : `added ${h.name} (${h.appliance}, rack ${h.rack}, rank ${h.rank})\n`);
      return 0;
    }
    case 'list': {
      const { values: v, positionals: p } = parse(rest, { appliance: { type: 'string' } }, USAGE);
      noExtra(p, 0, USAGE);
      const hosts = await ctx.store.hosts.list(v.appliance ? { appliance: v.appliance } : {});
      ctx.io.out(v.json ? json(hosts) : table(['HOST', 'APPLIANCE', 'RACK', 'RANK', 'MAC', 'IP', 'BOOT', 'STATE'], hosts.map(hostRow)));
      return 0;
    }
    case 'show': {
      const { values: v, positionals: p } = parse(rest, {}, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      const h = await mustHost(ctx, p[0]!);
      const boot = await ctx.store.boot.get(h.name);
      const { osImage, bootImage } = await imagesOf(ctx, h, boot ? [boot.kernel, boot.initrd] : []);
      if (v.json) ctx.io.out(json({ ...h, boot, osImage: osImage.name, osImageProblem: osImage.problem, ...(bootImage ? { bootImage: bootImage.name, bootImageProblem: bootImage.problem } : {}) }));
      else {
        const lines = [
          `host:       ${h.name}`, `appliance:  ${h.appliance}`, `rack/rank:  ${h.rack}/${h.rank}`, `os/arch:    ${h.os}/${h.arch}`,
          `boot:       ${h.bootAction}`, `state:      ${h.state}${h.stateDetail ? ` (${h.stateDetail})` : ''}`, `created:    ${h.createdAt}`,
          ...h.interfaces.map((i) => `interface:  ${i.device} ${i.mac} ${i.ip ?? '-'} ${i.subnet ?? ''}`.trimEnd()),
          ...(boot ? [`os kernel:  ${boot.kernel}`, `os initrd:  ${boot.initrd}${boot.overlay ? ' + ' + boot.overlay : ''}`, `os args:    ${boot.args}`] : []),
          ...(osImage.name !== null ? [`image:      ${imageLine(osImage)}`] : []),
          ...(bootImage ? [`boot image: ${imageLine(bootImage)} (the diskless boot record's, not os_image)`] : []),
        ];
        ctx.io.out(lines.join('\n') + '\n');
      }
      return 0;
    }
    case 'remove': {
      const { positionals: p } = parse(rest, {}, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      await mustHost(ctx, p[0]!);
      await ctx.store.transaction(async (tx) => {
        await tx.hosts.remove(p[0]!);
        await tx.events.append({ kind: 'host.removed', host: p[0]!, detail: { by: 'cli' } });
      });
      ctx.io.out(`removed ${p[0]}\n`);
      return 0;
    }
    case 'set': {
      const { values: v, positionals: p } = parse(rest, {}, USAGE);
      needPositional(p, 2, USAGE);
      const name = p[0]!;
      await mustHost(ctx, name);
      const kv = keyValues(p.slice(1), USAGE);
      const patch: HostPatch = {};
      for (const [k, val] of Object.entries(kv)) {
        switch (k) {
          case 'boot': patch.bootAction = parseBootAction(val); break;
          case 'appliance': patch.appliance = val; break;
          case 'rack': patch.rack = intFlag(val, 'rack')!; break;
          case 'rank': patch.rank = intFlag(val, 'rank')!; break;
          case 'os': patch.os = val; break;
          case 'arch': patch.arch = val; break;
          case 'state':
            if (!(HOST_STATES as readonly string[]).includes(val)) throw new UserError('E_BAD_STATE', `state must be one of ${HOST_STATES.join(', ')}`, { where: 'state' });
            patch.state = val as HostState;
            break;
          default:
            throw new UserError('E_USAGE', `unknown host field ${JSON.stringify(k)}\nusage: ${USAGE}`, { where: k });
        }
      }
      const h = await ctx.store.transaction(async (tx) => {
        const updated = await tx.hosts.update(name, patch);
        await tx.events.append({ kind: 'host.changed', host: name, detail: { by: 'cli', ...kv } });
        return updated;
      });
      ctx.io.out(v.json ? json(h) : `${h.name}: ${Object.entries(kv).map(([k, x]) => `${k}=${x}`).join(' ')}\n`);
      return 0;
    }
    default:
      throw badVerb('host', verb, USAGE);
  }
}

export async function mustHost(ctx: CliContext, name: string): Promise<Host> {
  const h = await ctx.store.hosts.get(name);
  if (!h) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`, { where: 'host' });
  return h;
}
