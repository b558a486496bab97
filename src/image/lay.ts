// Lays an image's root file system onto a new volume file, as a node's install would have
// (`golden create NAME --image IMAGE`, issue #20): what the lab installer
// (initrd-templates/lab-installer/install.sh) does to a node's iSCSI disk for the kickstart's
// `clearpart`/`part / --fstype=ext4`/`liveimg`, done once on the frontend:
//   - an MBR with one active Linux partition from 1 MiB to the end (the installer's fdisk layout;
//     a disk signature derived from the root UUID, so the same inputs give the same table);
//   - ext4 on it, with the given root UUID and label `netroot-root` (mkfs.ext4 -U -L);
//   - the image's root tarball unpacked onto it (GNU tar, numeric owners, xattrs kept);
//   - /etc/fstab `UUID=<uuid> / ext4 defaults 0 1`, as the installer writes it.
// What the installer writes per node (initiator name, host name) is not written: each clone gets
// its own at first boot (initrd-templates/overlay/etc/netroot/personalise.sh). The partition is
// reached through a loop device (losetup --offset/--sizelimit, detached on every path out) and
// mounted only in a private mount namespace (unshare -m), so nothing stays mounted when the
// process dies. Needs root.
import { randomUUID } from 'node:crypto';
import { mkdir, open, rm, rmdir } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { run, type Progress } from './run.js';

export const PARTITION_OFFSET = 1 << 20;
const MiB = 1 << 20;
/** Below this mkfs.ext4 cannot make a root worth booting (and its journal would not fit). */
export const MIN_VOLUME_BYTES = 16 * MiB;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The MBR: one active type-0x83 partition, LBA PARTITION_OFFSET/512 to the end (CHS fields "use LBA"). */
export function mbr(sizeBytes: number, rootUuid: string): Buffer {
  const b = Buffer.alloc(512);
  b.write(rootUuid.replace(/-/g, '').slice(0, 8), 440, 'hex'); // disk signature
  const e = 446;
  b[e] = 0x80;
  b.writeUIntBE(0xfeffff, e + 1, 3);
  b[e + 4] = 0x83;
  b.writeUIntBE(0xfeffff, e + 5, 3);
  b.writeUInt32LE(PARTITION_OFFSET / 512, e + 8);
  b.writeUInt32LE((sizeBytes - PARTITION_OFFSET) / 512, e + 12);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

const SCRIPT = [
  'set -eu',
  'img=$1 off=$2 len=$3 uuid=$4 tarball=$5 mnt=$6',
  'dev=$(losetup --find --show --offset "$off" --sizelimit "$len" "$img")',
  `trap 'umount "$mnt" 2>/dev/null || true; losetup -d "$dev"' EXIT`,
  'mkfs.ext4 -q -F -U "$uuid" -L netroot-root "$dev"',
  'mount -t ext4 "$dev" "$mnt"',
  `tar -xzf "$tarball" -C "$mnt" --numeric-owner --xattrs --xattrs-include='*'`,
  'mkdir -p "$mnt/etc" "$mnt/tmp" "$mnt/dev" "$mnt/proc" "$mnt/sys"',
  `printf 'UUID=%s / ext4 defaults 0 1\\n' "$uuid" > "$mnt/etc/fstab"`,
  'sync',
  'echo "laid: UUID=$uuid"',
].join('\n');

export interface LayOptions {
  /** The image's root tarball (gzip). */
  tarball: string;
  /** The volume file to make (must not exist; removed again on failure). */
  out: string;
  /** Whole MiB, at least MIN_VOLUME_BYTES. */
  sizeBytes: number;
  /** Default: a random one. */
  rootUuid?: string | undefined;
  progress?: Progress | undefined;
  signal?: AbortSignal | undefined;
}

export async function layImage(o: LayOptions): Promise<{ rootUuid: string }> {
  if (process.getuid?.() !== 0) throw new UserError('E_IMAGE_NEEDS_ROOT', 'laying an image onto a volume needs root (a loop device, mount, tar with owners)');
  if (!Number.isSafeInteger(o.sizeBytes) || o.sizeBytes < MIN_VOLUME_BYTES || o.sizeBytes % MiB !== 0)
    throw new UserError('E_STORAGE_BAD_SIZE', `a volume for an image must be whole MiB and at least ${MIN_VOLUME_BYTES / MiB} MiB, not ${o.sizeBytes} bytes`);
  if (o.sizeBytes / 512 > 0xffffffff) throw new UserError('E_STORAGE_BAD_SIZE', 'an MBR-partitioned volume is at most 2 TiB');
  const rootUuid = (o.rootUuid ?? randomUUID()).toLowerCase();
  if (!UUID.test(rootUuid)) throw new UserError('E_BAD_ROOT_UUID', `${JSON.stringify(rootUuid)} is not a file-system UUID`);
  const fh = await open(o.out, 'wx', 0o600);
  const mnt = `${o.out}.mnt`;
  try {
    try {
      await fh.truncate(o.sizeBytes);
      await fh.write(mbr(o.sizeBytes, rootUuid), 0, 512, 0);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await mkdir(mnt, { mode: 0o700 });
    await run(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        SCRIPT,
        'sh',
        o.out,
        String(PARTITION_OFFSET),
        String(o.sizeBytes - PARTITION_OFFSET),
        rootUuid,
        o.tarball,
        mnt,
      ],
      { label: 'lay image', code: 'E_IMAGE_TOOL', progress: o.progress, signal: o.signal },
    );
    return { rootUuid };
  } catch (e) {
    await rm(o.out, { force: true });
    throw e;
  } finally {
    await rmdir(mnt).catch(() => {});
  }
}
