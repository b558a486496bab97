// The per-node initrd overlay: a small gzipped newc archive that the boot loader loads after the
// base initrd (the kernel unpacks both into the same rootfs, later files winning). It is rendered
// from the template tree `<templatesDir>/overlay/**`:
//   - `name.hbs` is a handlebars template (strict: a missing field fails; noEscape) rendered to
//     `name`; a first line `{{!-- mode: 0600 --}}` sets its mode (default 0644);
//   - any other file is copied as is, with its permission bits.
// Values reach shell files only through the `shq` helper (POSIX single quoting; refuses control
// characters), so a field can never become code in /init.
import Handlebars from 'handlebars';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetrootError } from '../errors.js';
import { CpioWriter, gzip } from './cpio.js';
import { formatLun, kernelArgs, rootPath, validateNodeBootInfo, type KernelArgsOptions, type NodeBootInfo } from './kernel-args.js';

export interface OverlayFile {
  /** Path inside the initrd, e.g. "etc/netroot/node.conf". */
  path: string;
  mode: number;
  content: Buffer;
}

/** POSIX shell single quoting. Control characters (newline included) are refused, not escaped. */
export function shellQuote(value: unknown): string {
  if (value === null) return "''";
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new NetrootError('E_TEMPLATE_VALUE', `cannot shell-quote a value of type ${typeof value}`);
  }
  const s = String(value);
  if (/[\x00-\x1f\x7f]/.test(s)) throw new NetrootError('E_TEMPLATE_VALUE', 'refusing to shell-quote a value with control characters');
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const hb = Handlebars.create();
// Handlebars' strict mode does not check helper parameters: `{{shq hostnme}}` would quietly get
// undefined. The view gives absent optional fields as null, so undefined here is a misspelling.
hb.registerHelper('shq', (v: unknown) => {
  if (v === undefined) throw new NetrootError('E_TEMPLATE', 'shq was given an undefined field (misspelt name?)');
  return shellQuote(v);
});

/**
 * A value for dracut's command line (/etc/cmdline.d): dracut splits it on white space with
 * globbing on and strips quotes, so only characters that survive that unchanged are allowed.
 * netroot's own CHAP secrets are alphanumeric; an operator's secret with others is refused here,
 * by name, rather than reaching dracut altered.
 */
hb.registerHelper('cmdarg', (v: unknown, options: { hash?: { name?: unknown } }) => {
  const what = typeof options?.hash?.name === 'string' ? options.hash.name : 'value';
  if (v === undefined) throw new NetrootError('E_TEMPLATE', 'cmdarg was given an undefined field (misspelt name?)');
  if (typeof v !== 'string' || !/^[A-Za-z0-9._:@+=/~-]{1,255}$/.test(v)) {
    throw new NetrootError('E_TEMPLATE_VALUE', `the ${what} cannot go on dracut's command line: only letters, digits and . _ : @ + = / ~ - are allowed`);
  }
  return v;
});

const MODE_DIRECTIVE = /^\{\{!--\s*mode:\s*(0?[0-7]{3,4})\s*--\}\}\r?\n/;

/** The repository's initrd-templates directory, from src/ (tsx) or from dist/ (built). */
export function defaultTemplatesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../..', '../../..']) {
    const dir = join(here, up, 'initrd-templates');
    if (existsSync(join(dir, 'init.sh'))) return dir;
  }
  throw new NetrootError('E_TEMPLATES_MISSING', `initrd-templates not found near ${here}`);
}

async function walk(root: string, dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(root, p, out);
    else if (e.isFile()) out.push(relative(root, p).split(sep).join('/'));
    else throw new NetrootError('E_TEMPLATE', `${p}: only plain files and directories belong in an overlay template tree`);
  }
}

function view(n: NodeBootInfo) {
  return {
    hostname: n.hostname,
    initiatorIqn: n.initiatorIqn,
    targetIqn: n.targetIqn,
    portal: n.portal,
    port: n.port,
    lun: n.lun,
    lunHex: formatLun(n.lun),
    rootPath: rootPath(n),
    rootUuid: n.rootUuid.toLowerCase(),
    interface: n.interface ?? null,
    mac: n.mac ?? null,
    chapUser: n.chapUser || null,
    chapSecret: n.chapSecret || null,
    cloneId: n.cloneId ?? null,
    firstboot: n.firstboot ?? '',
  };
}

/** Renders the overlay tree for a node into a list of files (the `render` command and golden tests use this). */
export async function renderOverlayFiles(node: NodeBootInfo, templatesDir: string): Promise<OverlayFile[]> {
  const n = validateNodeBootInfo(node);
  const root = join(templatesDir, 'overlay');
  const files: string[] = [];
  await walk(root, root, files);
  const v = view(n);
  const out: OverlayFile[] = [];
  for (const rel of files) {
    const full = join(root, rel);
    if (rel.endsWith('.hbs')) {
      const source = await readFile(full, 'utf8');
      const m = MODE_DIRECTIVE.exec(source);
      const mode = m ? parseInt(m[1] ?? '644', 8) : 0o644;
      let text: string;
      try {
        text = hb.compile(m ? source.slice(m[0].length) : source, { strict: true, noEscape: true })(v);
      } catch (e) {
        throw new NetrootError('E_TEMPLATE', `${rel}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      out.push({ path: rel.slice(0, -'.hbs'.length), mode, content: Buffer.from(text, 'utf8') });
    } else {
      out.push({ path: rel, mode: (await stat(full)).mode & 0o7777, content: await readFile(full) });
    }
  }
  return out;
}

/** The node's overlay as a gzipped newc archive; same node and templates → same bytes. */
export async function renderNodeOverlay(node: NodeBootInfo, templatesDir: string = defaultTemplatesDir()): Promise<Buffer> {
  const w = new CpioWriter();
  for (const f of await renderOverlayFiles(node, templatesDir)) w.file(f.path, f.content, { mode: f.mode });
  return gzip(w.finish());
}

/** Binds a template directory: what boot/diskless.ts calls an OverlayBuilder. */
export class OverlayRenderer {
  constructor(
    private readonly templatesDir: string = defaultTemplatesDir(),
    private readonly argsOptions: KernelArgsOptions = {},
  ) {}

  renderOverlay(info: NodeBootInfo): Promise<Buffer> {
    return renderNodeOverlay(info, this.templatesDir);
  }

  kernelArgs(info: NodeBootInfo): string {
    return kernelArgs(info, this.argsOptions);
  }
}
