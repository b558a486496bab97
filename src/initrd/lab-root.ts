// The lab root file system as a tar.gz: static busybox with its applet symlinks and
// /sbin/init from initrd-templates/lab-root/init (console markers, boot counter, reboot or
// poweroff by netroot.lab=). Written with a small ustar writer of our own; deterministic
// (fixed mtime, sorted entries, uid/gid 0).
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UserError } from '../errors.js';
import { defaultTemplatesDir } from './overlay.js';

export interface TarEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  data?: Buffer;
  target?: string;
}

function octal(buf: Buffer, off: number, len: number, value: number, field: string): void {
  const s = value.toString(8);
  if (s.length > len - 1) throw new UserError('E_TAR_FIELD', `tar ${field} ${value} does not fit ${len - 1} octal digits`);
  buf.write(s.padStart(len - 1, '0') + '\0', off, len, 'ascii');
}

function splitName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0) return { name, prefix };
  }
  throw new UserError('E_TAR_FIELD', `path too long for ustar: ${path}`);
}

/** One ustar archive (uncompressed), ending with the two zero blocks. */
export function writeTar(entries: readonly TarEntry[], opts: { mtime?: number } = {}): Buffer {
  const mtime = opts.mtime ?? 0;
  const parts: Buffer[] = [];
  for (const e of entries) {
    let p = posix.normalize(e.path.replace(/^\/+/, ''));
    if (p === '.' || p.startsWith('..')) throw new UserError('E_TAR_FIELD', `bad tar path: ${e.path}`);
    if (e.type === 'dir' && !p.endsWith('/')) p += '/';
    const { name, prefix } = splitName(p);
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, 'utf8');
    octal(h, 100, 8, e.mode & 0o7777, 'mode');
    octal(h, 108, 8, 0, 'uid');
    octal(h, 116, 8, 0, 'gid');
    const data = e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    octal(h, 124, 12, data.length, 'size');
    octal(h, 136, 12, mtime, 'mtime');
    h.fill(0x20, 148, 156);
    h.write(e.type === 'file' ? '0' : e.type === 'symlink' ? '2' : '5', 156, 1, 'ascii');
    if (e.type === 'symlink') {
      const t = e.target ?? '';
      if (Buffer.byteLength(t) > 100) throw new UserError('E_TAR_FIELD', `symlink target too long: ${t}`);
      h.write(t, 157, 100, 'utf8');
    }
    h.write('ustar\0', 257, 6, 'ascii');
    h.write('00', 263, 2, 'ascii');
    h.write('root', 265, 32, 'ascii');
    h.write('root', 297, 32, 'ascii');
    h.write(prefix, 345, 155, 'utf8');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
    parts.push(h, data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export interface LabRootOptions {
  out: string;
  /** Static busybox (Debian: busybox-static). */
  busybox?: string;
  templatesDir?: string;
  mtime?: number;
}

export interface LabRootResult {
  out: string;
  bytes: number;
  applets: number;
}

export async function buildLabRootTarball(opts: LabRootOptions): Promise<LabRootResult> {
  const busybox = opts.busybox ?? '/bin/busybox';
  const bb = await readFile(busybox).catch(() => {
    throw new UserError('E_INITRD_INPUT', `busybox ${busybox} not found (Debian package: busybox-static)`);
  });
  const init = await readFile(join(opts.templatesDir ?? defaultTemplatesDir(), 'lab-root', 'init'));
  const list = spawnSync(busybox, ['--list-full'], { encoding: 'utf8' });
  if (list.status !== 0) throw new UserError('E_INITRD_INPUT', `${busybox} --list-full failed (is it busybox?)`);
  const entries: TarEntry[] = [];
  const dirs = ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'run', 'root', 'var', 'var/lib', 'var/lib/netroot-lab'];
  for (const d of dirs) entries.push({ path: d, type: 'dir', mode: 0o755 });
  entries.push({ path: 'tmp', type: 'dir', mode: 0o1777 });
  entries.push({ path: 'bin/busybox', type: 'file', mode: 0o755, data: bb });
  entries.push({ path: 'sbin/init', type: 'file', mode: 0o755, data: init });
  entries.push({ path: 'etc/hostname', type: 'file', mode: 0o644, data: Buffer.from('netroot-lab\n') });
  const taken = new Set(entries.map((e) => e.path));
  let applets = 0;
  for (const a of list.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort()) {
    const p = posix.normalize(a.replace(/^\/+/, ''));
    if (taken.has(p) || p.startsWith('..') || !dirs.includes(posix.dirname(p))) continue;
    taken.add(p);
    entries.push({ path: p, type: 'symlink', mode: 0o777, target: '/bin/busybox' });
    applets++;
  }
  const gz = gzipSync(writeTar(entries, { mtime: opts.mtime ?? 0 }), { level: 9 });
  await mkdir(dirname(opts.out), { recursive: true });
  const tmp = `${opts.out}.tmp-${process.pid}`;
  await writeFile(tmp, gz, { mode: 0o644 });
  await rename(tmp, opts.out);
  return { out: opts.out, bytes: gz.length, applets };
}
