// BootSpec: the one boot decision, rendered by every format (iPXE, pxelinux, GRUB).

export interface BootImage {
  /** Name the kernel's EFI stub sees in `initrd=<name>` (LAB.md: Debian's iPXE over EFI needs it). */
  name: string;
  /** Path under the boot root (served at /boot/files/<path>) or an absolute http URL path. */
  path: string;
}

export type BootSpec =
  | { action: 'install' | 'os'; host: string; mac: string; kernel: string; initrds: BootImage[]; args: string }
  | { action: 'local'; host: string; mac: string }
  | {
      action: 'sanboot';
      host: string;
      mac: string;
      /** RFC 4173 root path iscsi:<server>:<protocol>:<port>:<lun>:<target> */
      rootPath: string;
      initiatorIqn: string;
      chap: { user: string; secret: string } | null;
    }
  /** Unknown machine: keep asking until insert-ethers knows it. */
  | { action: 'wait'; host: null; mac: string };
