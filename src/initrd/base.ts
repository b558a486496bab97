// The base initrd every diskless node boots (the per-node overlay is loaded after it): busybox
// (static) with its applet symlinks, iscsistart and the shared libraries `ldd` lists (stored at
// the paths ldd prints), the kernel modules from DEFAULT_MODULES in dependency order with a
// filtered modules.dep/modules.alias (so busybox modprobe can serve the kernel's request_module),
// /init from initrd-templates/init.sh and the udhcpc event script. Deterministic for the same
// inputs (fixed inode numbers, mtime 0 unless given, gzip without timestamp).
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { NetrootError, UserError } from '../errors.js';
import { CpioWriter, gzip } from './cpio.js';
import { DEFAULT_MODULES, readModuleIndex, resolveModules, type WantedModule } from './modules.js';
import { defaultTemplatesDir } from './overlay.js';

export interface BaseInitrdOptions {
  kernelVersion: string;
  /** Default /lib/modules. */
  modulesDir?: string;
  /** A static busybox. Default /bin/busybox (Debian: busybox-static). */
  busybox?: string;
  /** Default /usr/sbin/iscsistart (Debian: open-iscsi). */
  iscsistart?: string;
  /** Where to write the gzipped archive (written to a temporary name, then renamed). */
  out: string;
  /** Holds init.sh and udhcpc.script. Default: the repository's initrd-templates. */
  templatesDir?: string;
  /** Default DEFAULT_MODULES. */
  modules?: readonly WantedModule[];
  /** mtime for every entry (seconds). Default 0, for reproducible archives. */
  mtime?: number;
}

export interface BaseInitrdResult {
  out: string;
  /** Size of the gzipped archive. */
  bytes: number;
  kernelVersion: string;
  /** Module paths as stored (relative to lib/modules/<kver>), in load order. */
  modules: string[];
  /** Shared libraries copied, as absolute paths inside the initrd. */
  libraries: string[];
  /** Number of busybox applet links. */
  applets: number;
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') reject(err);
      else resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function runBuffer(cmd: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 256 * 1024 * 1024, encoding: 'buffer' }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

async function mustRead(path: string, what: string, pkg: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new UserError('E_INITRD_INPUT', `${what} ${path} not found (Debian package: ${pkg})`);
  }
}

/** Parses `ldd` output into absolute library paths; a "not found" library is an error. */
export function parseLdd(output: string, binary: string): string[] {
  const libs: string[] = [];
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    if (line === '' || /not a dynamic executable|statically linked/.test(line)) continue;
    if (/=>\s*not found/.test(line)) throw new UserError('E_INITRD_INPUT', `${binary} needs ${line.split(/\s/)[0]}, which ldd cannot find`);
    const arrow = /=>\s*(\/\S+)/.exec(line);
    const direct = /^(\/\S+)\s+\(0x/.exec(line);
    const p = arrow?.[1] ?? direct?.[1];
    if (p && !libs.includes(p)) libs.push(p);
  }
  return libs;
}

async function sharedLibraries(binary: string): Promise<string[]> {
  let r: { code: number; stdout: string; stderr: string };
  try {
    r = await run('ldd', [binary]);
  } catch (e) {
    throw new NetrootError('E_INITRD_TOOL', `cannot run ldd: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (r.code !== 0 && /not a dynamic executable/.test(r.stdout + r.stderr)) return [];
  if (r.code !== 0) throw new NetrootError('E_INITRD_TOOL', `ldd ${binary} failed: ${r.stderr.trim()}`);
  return parseLdd(r.stdout, binary);
}

async function appletPaths(busybox: string): Promise<string[]> {
  const r = await run(busybox, ['--list-full']);
  if (r.code === 0 && r.stdout.trim() !== '')
    return r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
  const plain = await run(busybox, ['--list']);
  if (plain.code !== 0) throw new NetrootError('E_INITRD_TOOL', `${busybox} --list failed`);
  return plain.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((a) => `bin/${a}`);
}

async function moduleBytes(file: string): Promise<Buffer> {
  if (file.endsWith('.ko.gz')) return gunzipSync(await readFile(file));
  if (file.endsWith('.ko.xz')) return runBuffer('xz', ['-dc', file]);
  if (file.endsWith('.ko.zst')) return runBuffer('zstd', ['-dcq', file]);
  return readFile(file);
}

const stored = (p: string) => p.replace(/\.ko\.(xz|zst|gz)$/, '.ko');

export async function buildBaseInitrd(opts: BaseInitrdOptions): Promise<BaseInitrdResult> {
  const modulesDir = opts.modulesDir ?? '/lib/modules';
  const busybox = opts.busybox ?? '/bin/busybox';
  const iscsistart = opts.iscsistart ?? '/usr/sbin/iscsistart';
  const templatesDir = opts.templatesDir ?? defaultTemplatesDir();
  await mustRead(busybox, 'busybox', 'busybox-static');
  await mustRead(iscsistart, 'iscsistart', 'open-iscsi');
  const index = await readModuleIndex(modulesDir, opts.kernelVersion);
  const modules = resolveModules(index, opts.modules ?? DEFAULT_MODULES);
  const init = await readFile(join(templatesDir, 'init.sh'));
  const udhcpc = await readFile(join(templatesDir, 'udhcpc.script'));

  const w = new CpioWriter({ mtime: opts.mtime ?? 0 });
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc/netroot', 'proc', 'sys', 'dev', 'run', 'newroot', 'var/lock', 'root', 'lib/modules']) w.dir(d);
  w.dir('tmp', { mode: 0o1777 });
  // The kernel opens /dev/console for init before /init runs; without the node init has no output.
  w.device('dev/console', 'char', 5, 1, { mode: 0o600 });
  w.device('dev/null', 'char', 1, 3, { mode: 0o666 });

  w.file('init', init, { mode: 0o755 });
  w.file('etc/netroot/udhcpc.script', udhcpc, { mode: 0o755 });

  w.file('bin/busybox', await readFile(busybox), { mode: 0o755 });
  let applets = 0;
  for (const a of await appletPaths(busybox)) {
    const p = posix.normalize(a.replace(/^\/+/, ''));
    if (p === 'bin/busybox' || p.startsWith('..') || w.has(p)) continue;
    w.symlink(p, '/bin/busybox');
    applets++;
  }

  const iscsiPath = iscsistart.startsWith('/') ? iscsistart.slice(1) : 'usr/sbin/iscsistart';
  w.file(iscsiPath, await readFile(iscsistart), { mode: 0o755 });
  if (iscsiPath !== 'sbin/iscsistart' && !w.has('sbin/iscsistart')) w.symlink('sbin/iscsistart', `/${iscsiPath}`);
  const libraries: string[] = [];
  for (const bin of [busybox, iscsistart]) {
    for (const lib of await sharedLibraries(bin)) {
      if (libraries.includes(lib)) continue;
      libraries.push(lib);
      // readFile follows symlinks: the library's bytes are stored under the name ldd printed.
      w.file(lib, await readFile(lib), { mode: 0o755 });
    }
  }

  const kdir = `lib/modules/${index.kernelVersion}`;
  const loadList: string[] = [];
  for (const m of modules) {
    const rel = stored(m.path);
    w.file(`${kdir}/${rel}`, await moduleBytes(join(index.dir, m.path)), { mode: 0o644 });
    loadList.push(rel);
  }
  w.file('lib/modules/netroot.load', loadList.map((l) => `${l}\n`).join(''));
  const included = new Set(modules.map((m) => m.path));
  w.file(
    `${kdir}/modules.dep`,
    modules
      .map(
        (m) =>
          `${stored(m.path)}: ${m.deps
            .filter((d) => included.has(d))
            .map(stored)
            .join(' ')}`.trimEnd() + '\n',
      )
      .join(''),
  );
  const names = new Set(modules.map((m) => m.name));
  const alias = await readFile(join(index.dir, 'modules.alias'), 'utf8').catch(() => '');
  w.file(
    `${kdir}/modules.alias`,
    alias
      .split('\n')
      .filter((l) => l.startsWith('alias ') && names.has((l.split(/\s+/)[2] ?? '').replace(/-/g, '_')))
      .map((l) => `${l}\n`)
      .join(''),
  );
  const builtin = await readFile(join(index.dir, 'modules.builtin')).catch(() => Buffer.alloc(0));
  w.file(`${kdir}/modules.builtin`, builtin);
  w.file('etc/netroot/base.info', `kernel=${index.kernelVersion}\nmodules=${modules.map((m) => m.name).join(',')}\n`);

  const archive = gzip(w.finish());
  await mkdir(dirname(opts.out), { recursive: true });
  const tmp = `${opts.out}.tmp-${process.pid}`;
  await writeFile(tmp, archive, { mode: 0o644 });
  await rename(tmp, opts.out);
  return { out: opts.out, bytes: archive.length, kernelVersion: index.kernelVersion, modules: loadList, libraries, applets };
}
