// `netroot golden create NAME --from HOST | promote HOST [--name NAME] | list | show NAME [--verify] |
// remove NAME` (issue #20):
// golden volumes on the local storage node, through src/storage/golden-catalog.ts (one interface
// over its embedded backend — files under `<volumesDir>/golden/` with their record beside them —
// and its rbd backend — images with a protected snapshot in the Ceph pool). Either way the record
// lives with the storage, so this runs in-process whether or not the frontend runs (a running
// frontend reads the same records when it clones and exports). A host or appliance attribute
// `golden=NAME` then makes the allocation plugin give new diskless hosts a clone of NAME.
import type { CliContext } from './context.js';
import { parse, needPositional, noExtra, badVerb } from './args.js';
import { json, table } from './output.js';
import { UserError } from '../errors.js';
import { buildStorage, LOCAL_NODE } from '../app/storage.js';
import type { GoldenBoot } from '../storage/golden.js';
import { goldenCatalogOf, type GoldenCatalog, type GoldenEntry } from '../storage/golden-catalog.js';
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
       netroot golden show NAME [--verify] [--json]   (--verify re-reads the file and checks its sha256; on rbd: checks the snapshot is protected)
       netroot golden remove NAME                      (refused while clones exist)`;

function localCatalog(ctx: CliContext): GoldenCatalog {
  const s = buildStorage(ctx.config, ctx.logger(), { offline: true });
  const b = s.nodes.find((n) => n.name === LOCAL_NODE)?.backend;
  const c = b ? goldenCatalogOf(b, join(ctx.config.stateDir, 'rbd')) : null;
  if (!c) throw new UserError('E_STORAGE_UNSUPPORTED', 'golden volumes need the local storage node (storage.local; storage.backend embedded, tgt, lio or rbd)');
  return c;
}

/** The host's recorded iSCSI export, which must be on the local storage node (create --from, promote). */
async function localVolumeOf(ctx: CliContext, host: string): Promise<NonNullable<ReturnType<typeof recordedExport>>> {
  if (!(await ctx.store.hosts.get(host))) throw new UserError('E_HOST_NOT_FOUND', `no host ${host}`);
  const rec = recordedExport(host, await hostAttributes(ctx.store, host));
  if (!rec) throw new UserError('E_GOLDEN_SOURCE', `host ${host} has no iSCSI volume (is it diskless and allocated?)`);
  if (rec.node !== LOCAL_NODE)
    throw new UserError('E_GOLDEN_SOURCE', `host ${host}'s volume is on storage node ${rec.node}; golden volumes are made on the local node only`);
  return rec;
}

const GiB = 2 ** 30;
const gib = (b: number) => (b / GiB).toFixed(b % GiB === 0 ? 0 : 2);

type GoldenReport = GoldenEntry & { clones: string[] };

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

async function report(c: GoldenCatalog, g: GoldenEntry): Promise<GoldenReport> {
  return { ...g, clones: await c.clonesOf(g.name) };
}

/** How the image is stored: reflink or full copy (embedded), the protected snapshot (rbd). */
const storedAs = (g: GoldenEntry): string => (g.snapshot !== undefined ? `rbd ${g.snapshot}` : g.reflinked ? 'reflink' : 'full copy');
/** The `, sha256 …` of a one-line summary (embedded only: an RBD snapshot has no checksum). */
const sumOf = (g: GoldenEntry): string => (g.sha256 !== undefined ? `, sha256 ${g.sha256}` : '');

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
  const c = localCatalog(ctx);
  const rootUuid = randomUUID();
  const tarball = join(images.imageDir(image), m.rootTarball.file);
  const g = await c.fromImage(name, { from: `image ${image}`, boot: { rootUuid, osImage: image } }, async (tmp) => {
    await layImage({ tarball, out: tmp, sizeBytes: size, rootUuid });
  });
  if (asJson) ctx.io.out(json(await report(c, g)));
  else ctx.io.out(`golden volume ${name}: ${g.sizeBytes} bytes, image ${image} installed (root UUID ${rootUuid})${sumOf(g)}\n`);
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
      const rec = await localVolumeOf(ctx, host);
      const c = localCatalog(ctx);
      const boot = await bootFacts(ctx, host);
      const r = await c.freeze(name, rec.spec.volume, { from: `host ${host}`, ...(boot ? { boot } : {}) });
      if (!boot)
        ctx.io.err(
          `netroot: warning: host ${host} has no diskless boot record with root=UUID= (was it installed through netroot?): clones of ${name} will install instead of booting at once\n`,
        );
      if (r.warning) ctx.io.err(`netroot: warning: ${r.warning}\n`);
      if (v.json) ctx.io.out(json(await report(c, r.entry)));
      else ctx.io.out(`golden volume ${name}: ${r.entry.sizeBytes} bytes from host ${host}, ${storedAs(r.entry)}${sumOf(r.entry)}\n`);
      return 0;
    }
    case 'promote': {
      const { values: v, positionals: p } = parse(rest, { name: { type: 'string' } }, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      const host = p[0]!;
      const rec = await localVolumeOf(ctx, host);
      const c = localCatalog(ctx);
      const g = await c.promote(rec.spec.volume, { name: v.name, from: `host ${host}` });
      if (v.json) ctx.io.out(json(await report(c, g)));
      else ctx.io.out(`golden volume ${g.name}: version ${g.version} of ${g.parent}'s line, ${g.sizeBytes} bytes from host ${host}${sumOf(g)}\n`);
      return 0;
    }
    case 'list': {
      const { values: v, positionals: p } = parse(rest, {}, USAGE);
      noExtra(p, 0, USAGE);
      const c = localCatalog(ctx);
      const all = await Promise.all((await c.list()).map((g) => report(c, g)));
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
              g.snapshot !== undefined ? 'rbd' : g.reflinked ? 'reflink' : 'full',
              g.from,
              g.createdAt,
              g.sha256 !== undefined ? g.sha256.slice(0, 16) : '-',
            ]),
          ),
        );
      return 0;
    }
    case 'show': {
      const { values: v, positionals: p } = parse(rest, { verify: { type: 'boolean' } }, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      const c = localCatalog(ctx);
      const checked = v.verify ? await c.verify(p[0]!) : undefined;
      const r = await report(c, checked ? checked.entry : await c.require(p[0]!));
      // On rbd there is no checksum to compare: say what was checked instead of `verified: true`.
      const verification = checked ? (checked.checksummed ? { verified: true } : { immutable: checked.note }) : {};
      if (v.json) ctx.io.out(json({ ...r, ...verification }));
      else {
        const rows: Array<[string, string]> = [
          ['name', r.name],
          ...(r.path !== undefined ? ([['path', r.path]] as Array<[string, string]>) : []),
          ...(r.snapshot !== undefined ? ([['snapshot', r.snapshot]] as Array<[string, string]>) : []),
          ['size', `${r.sizeBytes} bytes`],
          ...(r.sha256 !== undefined ? ([['sha256', r.sha256]] as Array<[string, string]>) : []),
          ['from', r.from],
          ['created', r.createdAt],
          ['copy', storedAs(r)],
          ['version', `${r.version}${r.parent ? ` (promoted from ${r.parent})` : ''}`],
          ['boot', r.boot ? `root=UUID=${r.boot.rootUuid}${r.boot.osImage ? `, os_image ${r.boot.osImage}` : ''}` : '- (clones install)'],
          ['clones', r.clones.length ? r.clones.join(' ') : '-'],
        ];
        if (checked) rows.push(['verified', checked.note]);
        ctx.io.out(rows.map(([k, val]) => `${k.padEnd(9)}${val}`).join('\n') + '\n');
      }
      return 0;
    }
    case 'remove': {
      const { positionals: p } = parse(rest, {}, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      await localCatalog(ctx).remove(p[0]!);
      ctx.io.out(`golden volume ${p[0]} removed\n`);
      return 0;
    }
    default:
      throw badVerb('golden', verb, USAGE);
  }
}
