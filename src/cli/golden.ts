// `netroot golden create NAME --from HOST | promote HOST [--name NAME] | list | show NAME [--verify] |
// remove NAME` (issue #20):
// golden volumes on the local storage node's embedded backend (src/storage/golden.ts). They are
// files under `<volumesDir>/golden/` with their record beside them, so this runs in-process whether
// or not the frontend runs (offline storage: the files are the truth; a running frontend reads the
// same records when it exports a clone). A host or appliance attribute `golden=NAME` then makes the
// allocation plugin give new diskless hosts a clone of NAME.
import type { CliContext } from './context.js';
import { parse, needPositional, noExtra, badVerb } from './args.js';
import { json, table } from './output.js';
import { UserError } from '../errors.js';
import { buildStorage, LOCAL_NODE } from '../app/storage.js';
import { EmbeddedBackend } from '../storage/embedded.js';
import type { GoldenBoot, GoldenInfo } from '../storage/golden.js';
import { KickstartService } from '../boot/kickstart.js';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ImageRegistry, layImage } from '../image/index.js';
import { parseSize } from '../storage/allocation.js';
import { OS_IMAGE_ATTRIBUTE } from '../boot/os-image.js';
import { hostAttributes, recordedExport } from '../discovery/plugins/iscsi-allocation.js';

export const USAGE = `netroot golden create NAME --from HOST [--json]   (freeze HOST's installed volume; power the host off first)
       netroot golden create NAME --image IMAGE [--size SIZE] [--json]   (install OS image IMAGE once into a new golden volume; root)
       netroot golden promote HOST [--name NAME] [--json]   (HOST's clone becomes the next golden version; power it off first)
       netroot golden list [--json]
       netroot golden show NAME [--verify] [--json]   (--verify re-reads the file and checks its sha256)
       netroot golden remove NAME                      (refused while clones exist)`;

function localEmbedded(ctx: CliContext): EmbeddedBackend {
  const s = buildStorage(ctx.config, ctx.logger(), { offline: true });
  const b = s.nodes.find((n) => n.name === LOCAL_NODE)?.backend;
  if (!(b instanceof EmbeddedBackend))
    throw new UserError('E_STORAGE_UNSUPPORTED', 'golden volumes need the local storage node on the embedded target (storage.local, storage.backend=embedded)');
  return b;
}

const GiB = 2 ** 30;
const gib = (b: number) => (b / GiB).toFixed(b % GiB === 0 ? 0 : 2);

type GoldenReport = GoldenInfo & { clones: string[] };

/**
 * How the source host boots, which is how its clones will: the root file-system UUID from its boot
 * record's `root=UUID=` (written when its install completed) and its resolved `os_image`.
 */
async function bootFacts(ctx: CliContext, host: string): Promise<GoldenBoot | null> {
  const rec = await ctx.store.boot.get(host);
  const uuid = rec ? /(?:^|\s)root=UUID=([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?=\s|$)/.exec(rec.args)?.[1] : undefined;
  if (!uuid) return null;
  const h = (await ctx.store.hosts.get(host))!;
  const image = (await new KickstartService(ctx.store, ctx.config).storedAttributesOf(h))[OS_IMAGE_ATTRIBUTE];
  return { rootUuid: uuid.toLowerCase(), osImage: image || null };
}

async function report(b: EmbeddedBackend, g: GoldenInfo): Promise<GoldenReport> {
  return { ...g, clones: await b.volumes.clonesOf(g.name) };
}

const MiB = 2 ** 20;

/**
 * `golden create NAME --image IMAGE`: the image's root laid onto a new volume as a node's install
 * would (src/image/lay.ts), recorded with its root UUID and the image, so clones boot the image's
 * kernel and initrd at once. Default size: the larger of storage.defaultVolumeGiB and the unpacked
 * root + 25 % + 64 MiB, in whole MiB.
 */
async function createFromImage(ctx: CliContext, name: string, image: string, sizeText: string | undefined, asJson: boolean): Promise<number> {
  const images = new ImageRegistry(ctx.config.tftp.root);
  const m = await images.get(image, null);
  const fit = Math.ceil((m.rootBytes * 1.25 + 64 * MiB) / MiB) * MiB;
  const size =
    sizeText !== undefined ? Math.ceil(parseSize(sizeText) / MiB) * MiB : Math.max(fit, Math.ceil((ctx.config.storage.defaultVolumeGiB * 2 ** 30) / MiB) * MiB);
  if (size < m.rootBytes) throw new UserError('E_STORAGE_BAD_SIZE', `--size ${sizeText}: image ${image}'s root alone is ${m.rootBytes} bytes`);
  const b = localEmbedded(ctx);
  const rootUuid = randomUUID();
  const tarball = join(images.imageDir(image), m.rootTarball.file);
  const r = await b.golden.createWith(name, { from: `image ${image}`, boot: { rootUuid, osImage: image } }, async (tmp) => {
    await layImage({ tarball, out: tmp, sizeBytes: size, rootUuid });
    return { reflinked: false };
  });
  if (asJson) ctx.io.out(json(await report(b, r.info)));
  else ctx.io.out(`golden volume ${name}: ${r.info.sizeBytes} bytes, image ${image} installed (root UUID ${rootUuid}), sha256 ${r.info.sha256}\n`);
  return 0;
}

export async function goldenCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'create': {
      const { values: v, positionals: p } = parse(rest, { from: { type: 'string' }, image: { type: 'string' }, size: { type: 'string' } }, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      if ((v.from === undefined) === (v.image === undefined))
        throw new UserError('E_USAGE', `golden create needs --from HOST or --image IMAGE (one of them)\nusage: ${USAGE}`);
      if (v.size !== undefined && v.image === undefined) throw new UserError('E_USAGE', `--size goes with --image\nusage: ${USAGE}`);
      if (v.image !== undefined) return createFromImage(ctx, p[0]!, v.image, v.size, v.json === true);
      const name = p[0]!;
      const host = v.from!;
      if (!(await ctx.store.hosts.get(host))) throw new UserError('E_HOST_NOT_FOUND', `no host ${host}`);
      const rec = recordedExport(host, await hostAttributes(ctx.store, host));
      if (!rec) throw new UserError('E_GOLDEN_SOURCE', `host ${host} has no iSCSI volume (is it diskless and allocated?)`);
      if (rec.node !== LOCAL_NODE)
        throw new UserError('E_GOLDEN_SOURCE', `host ${host}'s volume is on storage node ${rec.node}; golden volumes are made on the local node only`);
      const b = localEmbedded(ctx);
      const vol = await b.volumes.get(rec.spec.volume);
      if (!vol) throw new UserError('E_GOLDEN_SOURCE', `host ${host}'s volume ${rec.spec.volume} is not on this node's disk`);
      const base = await b.volumes.cloneOf(vol.name);
      if (base !== null)
        throw new UserError('E_GOLDEN_SOURCE', `host ${host}'s volume is a clone of ${base}; freezing a clone (flattening it) is not supported yet`);
      const boot = await bootFacts(ctx, host);
      const r = await b.golden.create(name, vol.path!, { from: `host ${host}`, ...(boot ? { boot } : {}) });
      if (!boot)
        ctx.io.err(
          `netroot: warning: host ${host} has no diskless boot record with root=UUID= (was it installed through netroot?): clones of ${name} will install instead of booting at once\n`,
        );
      if (r.warning) ctx.io.err(`netroot: warning: ${r.warning}\n`);
      if (v.json) ctx.io.out(json(await report(b, r.info)));
      else
        ctx.io.out(
          `golden volume ${name}: ${r.info.sizeBytes} bytes from host ${host}, ${r.info.reflinked ? 'reflink' : 'full copy'}, sha256 ${r.info.sha256}\n`,
        );
      return 0;
    }
    case 'promote': {
      const { values: v, positionals: p } = parse(rest, { name: { type: 'string' } }, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      const host = p[0]!;
      if (!(await ctx.store.hosts.get(host))) throw new UserError('E_HOST_NOT_FOUND', `no host ${host}`);
      const rec = recordedExport(host, await hostAttributes(ctx.store, host));
      if (!rec) throw new UserError('E_GOLDEN_SOURCE', `host ${host} has no iSCSI volume (is it diskless and allocated?)`);
      if (rec.node !== LOCAL_NODE)
        throw new UserError('E_GOLDEN_SOURCE', `host ${host}'s volume is on storage node ${rec.node}; golden volumes are made on the local node only`);
      const b = localEmbedded(ctx);
      const r = await b.promoteClone(rec.spec.volume, { name: v.name, from: `host ${host}` });
      if (v.json) ctx.io.out(json(await report(b, r.info)));
      else
        ctx.io.out(
          `golden volume ${r.info.name}: version ${r.info.version} of ${r.info.parent}'s line, ${r.info.sizeBytes} bytes from host ${host}, sha256 ${r.info.sha256}\n`,
        );
      return 0;
    }
    case 'list': {
      const { values: v, positionals: p } = parse(rest, {}, USAGE);
      noExtra(p, 0, USAGE);
      const b = localEmbedded(ctx);
      const all = await Promise.all((await b.golden.list()).map((g) => report(b, g)));
      if (v.json) ctx.io.out(json(all));
      else
        ctx.io.out(
          table(
            ['NAME', 'VERSION', 'SIZE GiB', 'CLONES', 'COPY', 'FROM', 'CREATED', 'SHA256'],
            all.map((g) => [
              g.name,
              g.parent ? `${g.version} (${g.parent})` : g.version,
              gib(g.sizeBytes),
              g.clones.length,
              g.reflinked ? 'reflink' : 'full',
              g.from,
              g.createdAt,
              g.sha256.slice(0, 16),
            ]),
          ),
        );
      return 0;
    }
    case 'show': {
      const { values: v, positionals: p } = parse(rest, { verify: { type: 'boolean' } }, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      const b = localEmbedded(ctx);
      if (v.verify) await b.golden.verifyIdentity(p[0]!);
      const g = v.verify ? await b.golden.verifyChecksum(p[0]!) : await b.golden.require(p[0]!);
      const r = await report(b, g);
      if (v.json) ctx.io.out(json({ ...r, ...(v.verify ? { verified: true } : {}) }));
      else {
        const rows: Array<[string, string]> = [
          ['name', r.name],
          ['path', r.path],
          ['size', `${r.sizeBytes} bytes`],
          ['sha256', r.sha256],
          ['from', r.from],
          ['created', r.createdAt],
          ['copy', r.reflinked ? 'reflink' : 'full copy'],
          ['version', `${r.version}${r.parent ? ` (promoted from ${r.parent})` : ''}`],
          ['boot', r.boot ? `root=UUID=${r.boot.rootUuid}${r.boot.osImage ? `, os_image ${r.boot.osImage}` : ''}` : '- (clones install)'],
          ['clones', r.clones.length ? r.clones.join(' ') : '-'],
        ];
        if (v.verify) rows.push(['verified', 'yes (identity and sha256 match the record)']);
        ctx.io.out(rows.map(([k, val]) => `${k.padEnd(9)}${val}`).join('\n') + '\n');
      }
      return 0;
    }
    case 'remove': {
      const { positionals: p } = parse(rest, {}, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      await localEmbedded(ctx).removeGolden(p[0]!);
      ctx.io.out(`golden volume ${p[0]} removed\n`);
      return 0;
    }
    default:
      throw badVerb('golden', verb, USAGE);
  }
}
