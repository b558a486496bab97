// The configuration schema. Every field has a default so `netroot serve` runs with no file
// (SQLite under the state dir, the embedded iSCSI target). Paths left empty are derived from
// stateDir or the package directory in load.ts.
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const ipv4 = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}$/, 'must be a dotted IPv4 address');
const cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, 'must be an IPv4 network like 10.1.0.0/16');

export const configSchema = z
  .object({
    stateDir: z.string().min(1).default('/var/lib/netroot'),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    profile: z
      .object({
        rolesDir: z.string().default(''),
        graphsDir: z.string().default(''),
        graph: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('default'),
        siteDir: z.string().default(''),
        includeDir: z.string().default(''),
        allowEval: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    network: z
      .object({
        /** The private (provisioning) network nodes live on. */
        privateNetwork: cidr.default('10.1.0.0/16'),
        /** The frontend's address on it: DHCP next-server, kickstart and XML-RPC URLs. */
        frontendAddress: ipv4.default('10.1.1.1'),
        domain: z.string().default('local'),
        router: ipv4.optional(),
        dns: z.array(ipv4).default([]),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: port.default(8080),
        /** Requests served at once; beyond this the server answers 503 + Retry-After. */
        maxInFlight: z.number().int().min(1).max(100000).default(256),
        retryAfterSeconds: z.number().int().min(1).max(3600).default(2),
        /** Bearer token for state-changing REST calls; generated under stateDir when empty. */
        apiToken: z.string().default(''),
      })
      .strict()
      .prefault({}),
    tftp: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().default('0.0.0.0'),
        port: port.default(69),
        root: z.string().default(''),
      })
      .strict()
      .prefault({}),
    dhcp: z
      .object({
        /** Provisioning interfaces. Empty: the DHCP server does not run. */
        interfaces: z.array(z.string().min(1)).default([]),
        port: port.default(67),
        leaseSeconds: z.number().int().min(60).default(86400),
        /** Short-lived addresses for machines netroot does not know yet; off unless both are set. */
        poolStart: z.union([ipv4, z.literal('')]).default(''),
        poolEnd: z.union([ipv4, z.literal('')]).default(''),
        poolLeaseSeconds: z.number().int().min(60).default(600),
      })
      .strict()
      .prefault({}),
    iscsi: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().default('0.0.0.0'),
        port: port.default(3260),
        /** The address nodes use to reach the local target; empty: network.frontendAddress. */
        portal: z.union([ipv4, z.literal('')]).default(''),
        /**
         * Dead-peer detection: after this many seconds with nothing from an initiator, the
         * embedded target pings it with a NOP-In; 0 never pings (a dead node's session then lives
         * until it logs in again).
         */
        pingIdleSeconds: z.number().int().min(0).max(3600).default(30),
        /**
         * Seconds a ping may go unanswered before the connection ends. Generous on purpose: a node
         * under load (or a VM on a busy host) may not answer for many seconds, and its initiator
         * must reconnect when it is cut off.
         */
        pingTimeoutSeconds: z.number().int().min(5).max(3600).default(60),
      })
      .strict()
      .prefault({}),
    boot: z
      .object({
        /** Installer kernel/initrd, relative to the boot root (tftp.root; also served at /boot/files/). */
        installKernel: z.string().default('install/vmlinuz'),
        installInitrd: z.string().default('install/initrd.img'),
        /** Extra installer arguments; netroot adds inst.ks=<kickstart URL> and ip=dhcp itself. */
        installArgs: z.string().default('inst.ks.sendmac console=tty0 console=ttyS0,115200'),
        /** The shared diskless kernel and base initrd (netroot initrd build-base), under the boot root. */
        disklessKernel: z.string().default('diskless/vmlinuz'),
        disklessInitrd: z.string().default('diskless/initrd.img'),
        /**
         * The name the diskless initrd gives the node's boot NIC: bound to its MAC (dracut
         * `ifname=<name>:<mac> ip=<name>:dhcp`), so it survives the distribution renaming eth0 to
         * ens3. Not a kernel name (eth<N>): dracut's ifname= must not race the kernel's naming.
         */
        disklessInterface: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{1,15}$/)
          .refine((v) => !/^eth[0-9]+$/.test(v), 'must not be a kernel name like eth0 (it is bound to the MAC; use e.g. bootnet)')
          .default('bootnet'),
        /** Extra diskless kernel arguments (console=..., never a secret). */
        disklessArgs: z.string().default('console=ttyS0,115200'),
        /** The iPXE binary handed to x86-64 UEFI PXE ROMs: ipxe.efi (own NIC drivers) or snponly.efi. */
        uefiIpxe: z.enum(['ipxe.efi', 'snponly.efi']).default('ipxe.efi'),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        backend: z.enum(['embedded', 'tgt', 'lio']).default('embedded'),
        /** backend tgt: tgtd's control port (tgtd -C N / tgtadm -C N); 0 is tgtd's default socket. */
        tgtControlPort: z.number().int().min(0).max(65535).default(0),
        volumesDir: z.string().default(''),
        /** IQN naming: iqn.<iqnDate>.<reversed iqnDomain>:<host> */
        iqnDomain: z.string().regex(/^[a-z0-9.-]+$/).default('netroot.local'),
        iqnDate: z.string().regex(/^\d{4}-\d{2}$/).default('2026-11'),
        defaultVolumeGiB: z.number().positive().default(16),
        /** The frontend is a storage node itself ("local": the iscsi.* target, volumes under volumesDir). */
        local: z.boolean().default(true),
        /** Provisioning limit of the local node in GiB; 0: the file system's free space. */
        localLimitGiB: z.number().min(0).default(0),
        /** Mutual CHAP (the target proves itself to the node too). */
        mutualChap: z.boolean().default(false),
        /** Remote storage nodes running `netroot storage serve`. */
        nodes: z
          .array(
            z
              .object({
                name: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/),
                url: z.string().regex(/^https?:\/\/.+/, 'must be an http(s) URL'),
                token: z.string().min(32),
                backend: z.enum(['embedded', 'tgt', 'lio']).default('embedded'),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
