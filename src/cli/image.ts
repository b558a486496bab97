// `netroot image build|import|list|show|remove` — OS images (src/image): a root with its own kernel
// and dracut initrd that nodes install (liveimg) and boot diskless. The attribute `os_image`
// (global, os, appliance or host) chooses one. Build and import print progress on stderr; SIGINT
// or SIGTERM stops them cleanly (the running tool is killed, staging removed, nothing registered).
import type { CliContext } from './context.js';
import { parse, needPositional, noExtra, badVerb } from './args.js';
import { json, table } from './output.js';
import { UserError } from '../errors.js';
import { buildImage, buildRequestFrom, importImage, DISTRIBUTIONS, type ImageManifest } from '../image/index.js';
import { KickstartService } from '../boot/kickstart.js';
import { hostsUsingImage, OS_IMAGE_ATTRIBUTE } from '../boot/os-image.js';

export const USAGE = `netroot image build DISTRIBUTION [--name N] [--packages a,b,...] [--from-config FILE] [--json]   (${Object.keys(DISTRIBUTIONS).join(', ')}; root)
       netroot image import DIR|TARBALL --name N [--json]   (a root built elsewhere; root)
       netroot image list [--json]
       netroot image show NAME [--json]
       netroot image remove NAME   (refused while a host uses it)
Choose an image: netroot attr set os_image NAME [--appliance A | --host H]`;

const MiB = 2 ** 20;

function progress(ctx: CliContext): (line: string) => void {
  const t0 = Date.now();
  return (line) => ctx.io.err(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
}

/** Runs fn with an AbortSignal that SIGINT/SIGTERM trigger; the listeners are gone afterwards. */
async function interruptible<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    return await fn(ac.signal);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

function summary(m: ImageManifest): string {
  return (
    [
      `image ${m.name}: ${m.distribution} (${m.source}, ${m.createdAt})`,
      `  kernel   ${m.kernelVersion}  vmlinuz ${(m.kernel.size / MiB).toFixed(1)} MiB  sha256 ${m.kernel.sha256}`,
      `  initrd   dracut ${m.dracut.version} +${m.dracut.modules.join(' +')}${m.dracut.omitted.map((x) => ` -${x}`).join('')}  ${(m.initrd.size / MiB).toFixed(1)} MiB  sha256 ${m.initrd.sha256}`,
      `  root     ${(m.rootBytes / MiB).toFixed(0)} MiB unpacked, root.tar.gz ${(m.rootTarball.size / MiB).toFixed(1)} MiB  sha256 ${m.rootTarball.sha256}`,
      `  packages ${m.packages.length}`,
    ].join('\n') + '\n'
  );
}

export async function imageCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const kickstarts = () => new KickstartService(ctx.store, ctx.config);
  switch (verb) {
    case 'build': {
      const { values: v, positionals: p } = parse(rest, { name: { type: 'string' }, packages: { type: 'string' }, 'from-config': { type: 'string' } }, USAGE);
      noExtra(p, 1, USAGE);
      const flags = {
        distribution: p[0] ?? '',
        name: v.name,
        packages: v.packages
          ? v.packages
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : undefined,
      };
      const req = buildRequestFrom(v['from-config'], flags);
      if (!req.distribution) throw new UserError('E_USAGE', `missing DISTRIBUTION\nusage: ${USAGE}`, { where: 'distribution' });
      const m = await interruptible((signal) => buildImage(req, { registry: kickstarts().images, progress: progress(ctx), signal }));
      ctx.io.out(v.json ? json(m) : summary(m));
      return 0;
    }
    case 'import': {
      const { values: v, positionals: p } = parse(rest, { name: { type: 'string' } }, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      if (!v.name) throw new UserError('E_USAGE', `--name is required\nusage: ${USAGE}`, { where: 'name' });
      const m = await interruptible((signal) => importImage(p[0]!, v.name!, { registry: kickstarts().images, progress: progress(ctx), signal }));
      ctx.io.out(v.json ? json(m) : summary(m));
      return 0;
    }
    case 'list': {
      const { values: v, positionals: p } = parse(rest, {}, USAGE);
      noExtra(p, 0, USAGE);
      const all = await kickstarts().images.list();
      if (v.json) ctx.io.out(json(all));
      else
        ctx.io.out(
          table(
            ['IMAGE', 'DISTRIBUTION', 'KERNEL', 'ROOT MiB', 'CREATED', 'PROBLEM'],
            all.map((i) => [
              i.name,
              i.manifest?.distribution,
              i.manifest?.kernelVersion,
              i.manifest ? (i.manifest.rootBytes / MiB).toFixed(0) : null,
              i.manifest?.createdAt,
              i.problem,
            ]),
          ),
        );
      return 0;
    }
    case 'show': {
      const { values: v, positionals: p } = parse(rest, {}, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      const k = kickstarts();
      const name = p[0]!;
      if (!k.images.exists(name)) throw new UserError('E_IMAGE_NOT_FOUND', `no image ${JSON.stringify(name)} (netroot image list)`, { where: 'name' });
      // A broken image is shown with its problem (and who uses it), so the operator can act on it.
      const [m, problem] = await k.images.get(name, null).then(
        (x) => [x, null] as const,
        (e: Error) => [null, e.message] as const,
      );
      const users = await hostsUsingImage(ctx.store, (h) => k.storedAttributesOf(h), name);
      if (v.json) ctx.io.out(json(m ? { ...m, problem, hosts: users } : { name, problem, hosts: users }));
      else ctx.io.out((m ? summary(m) : `image ${name}: PROBLEM: ${problem}\n`) + `  hosts    ${users.length ? users.join(' ') : '-'}\n`);
      return 0;
    }
    case 'remove': {
      const { positionals: p } = parse(rest, {}, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      const k = kickstarts();
      const name = p[0]!;
      if (!k.images.exists(name)) throw new UserError('E_IMAGE_NOT_FOUND', `no image ${JSON.stringify(name)}`, { where: 'name' });
      const users = await hostsUsingImage(ctx.store, (h) => k.storedAttributesOf(h), name);
      if (users.length)
        throw new UserError(
          'E_IMAGE_IN_USE',
          `image ${name} is used by ${users.length} host(s): ${users.slice(0, 10).join(' ')}${users.length > 10 ? ' ...' : ''} (change their os_image first)`,
          { where: 'name' },
        );
      await k.images.remove(name);
      ctx.io.out(`removed image ${name}\n`);
      // No host uses it, but an appliance or os level may still choose it for hosts to come.
      const still = (await ctx.store.attributes.list()).filter((a) => a.name === OS_IMAGE_ATTRIBUTE && a.value === name);
      for (const a of still)
        ctx.io.err(`netroot: note: os_image is still ${name} at ${a.scope}${a.target ? ` ${a.target}` : ''} (hosts added there will not install or boot)\n`);
      return 0;
    }
    default:
      throw badVerb('image', verb, USAGE);
  }
}
