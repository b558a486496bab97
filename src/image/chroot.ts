// Runs a program inside an image root with /proc, /sys, /dev, /run and /tmp mounted — in a
// private mount namespace (unshare -m), so the mounts vanish with the process whatever happens
// to it: a killed build never leaves /dev bound inside a directory that is about to be deleted.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, type RunOptions } from './run.js';

const MOUNT_AND_CHROOT = [
  'set -e',
  'R=$1; shift',
  'mount -t proc proc "$R/proc"',
  'mount -t sysfs sysfs "$R/sys"',
  'mount --rbind /dev "$R/dev"',
  'mount -t tmpfs tmpfs "$R/run"',
  'mount -t tmpfs tmpfs "$R/tmp"',
  'exec chroot "$R" "$@"',
].join('\n');

export function inChroot(root: string, argv: string[], o: RunOptions = {}): Promise<string> {
  for (const d of ['proc', 'sys', 'dev', 'run', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', LC_ALL: 'C', HOME: '/root', TERM: 'dumb' };
  return run('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', MOUNT_AND_CHROOT, 'sh', root, ...argv], { ...o, env });
}
