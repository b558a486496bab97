// The configuration schema. Every field has a default so `netroot serve` runs with no file
// (SQLite under the state dir, the embedded iSCSI target). Paths left empty are derived from
// stateDir or the package directory in load.ts.
import { z } from 'zod';
import { parseCidr, parseIPv4 } from '../net/address.js';

const port = z.number().int().min(0).max(65535);
const ipv4 = z.string().refine((s) => parseIPv4(s) !== null, 'must be a dotted IPv4 address (four numbers 0-255)');
const cidr = z.string().refine((s) => parseCidr(s) !== null, 'must be an IPv4 network like 10.1.0.0/16');

export const configSchema = z
  .object({
    stateDir: z.string().min(1).default('/var/lib/netroot'),
    /** The older spelling of log.level; log.level wins when both are set. */
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    log: z
      .object({
        /** pretty: one line `<ISO time> <LEVEL> <msg> k="v"`; json: NDJSON (pino), one object a line. */
        format: z.enum(['json', 'pretty']).default('pretty'),
        /** Lowest level written; unset: logLevel. `--log-level` of serve commands wins over both. */
        level: z.enum(['debug', 'info', 'warn', 'error']).optional(),
      })
      .strict()
      .prefault({}),
    events: z
      .object({
        /**
         * The events log (discoveries, kickstarts, installs, status reports) keeps the newest
         * maxRows rows; older ones are pruned as new ones are written. Bounds the database a
         * chatty or hostile node could otherwise grow without end (~200 bytes a row).
         */
        maxRows: z.number().int().min(100).max(100_000_000).default(100_000),
      })
      .strict()
      .prefault({}),
    store: z
      .object({
        /**
         * Where the cluster database lives: '' is SQLite at <stateDir>/netroot.db (the default);
         * postgres://user:password@host:port/database (or postgresql://) is a PostgreSQL server that
         * several netroot servers may share. The password is a secret: every message shows it masked.
         */
        url: z
          .string()
          .refine(
            (v) => v === '' || /^postgres(ql)?:\/\/[^\s]+$/i.test(v),
            'must be empty (SQLite under stateDir) or postgres://user:password@host:port/database',
          )
          .default(''),
        /** PostgreSQL: connections this process keeps to the server at most. */
        poolSize: z.number().int().min(1).max(1000).default(10),
        /** PostgreSQL: how long a connection attempt may take before the store is unreachable (ms). */
        connectTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
        /**
         * PostgreSQL: read answers remembered (one per repository method and arguments, the least
         * recently read dropped first) so known hosts keep booting while the database is lost; 0 turns
         * it off. Lookups that found nothing are kept apart, at most a quarter of it (a client asking
         * for unknown MACs or names cannot push known hosts out). Bounds memory.
         */
        readCacheEntries: z.number().int().min(0).max(1_000_000).default(10_000),
      })
      .strict()
      .prefault({}),
    servers: z
      .object({
        /**
         * Each `netroot serve` writes a heartbeat row in the store this often (seconds): `netroot
         * servers` lists the servers sharing the database. Stamped with the database's clock.
         */
        heartbeatSeconds: z.number().int().min(1).max(3600).default(10),
        /** A server whose last heartbeat is older than this (seconds, database clock) is listed as stale. */
        staleSeconds: z.number().int().min(2).max(86_400).default(30),
      })
      .strict()
      .prefault({}),
    profile: z
      .object({
        rolesDir: z.string().default(''),
        graphsDir: z.string().default(''),
        graph: z
          .string()
          .regex(/^[A-Za-z0-9_.-]+$/)
          .default('default'),
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
    power: z
      .object({
        /** BMCs one power command (CLI or REST) talks to at once. */
        parallel: z.number().int().min(1).max(1024).default(32),
        /** Deadline of one BMC call (one ipmitool run, one Redfish request), seconds. */
        timeoutSeconds: z.number().int().min(1).max(600).default(20),
        /** ipmitool binary (Debian package ipmitool). */
        ipmitool: z.string().min(1).default('ipmitool'),
        /** ipmitool -C: the RMCP+ cipher suite (3 = HMAC-SHA1/AES-CBC-128, which every IPMI 2.0 BMC offers). */
        ipmiCipherSuite: z.number().int().min(0).max(17).default(3),
        /** ipmitool -R: retries of one IPMI request (each after -N 1 s). */
        ipmiRetries: z.number().int().min(0).max(10).default(2),
        /** Largest Redfish response body read, bytes; a larger one is E_BMC_PROTOCOL. */
        redfishMaxResponseBytes: z
          .number()
          .int()
          .min(4096)
          .max(64 * 1024 * 1024)
          .default(1024 * 1024),
        /** PEM file of extra CAs that sign BMC certificates (a site CA), besides Node's roots. */
        redfishCaFile: z.string().min(1).optional(),
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
        /** Requests one client address may have in flight; beyond this it is answered 429 + Retry-After. */
        maxInFlightPerSource: z.number().int().min(1).max(100000).default(32),
        /**
         * Boot-file and overlay responses (/boot/files, /boot/node/<host>/overlay.img) in flight at
         * once, never more than half of maxInFlight: the other half stays free for iPXE scripts,
         * kickstarts and /RPC2 while clients stall big downloads.
         */
        maxFileStreams: z.number().int().min(1).max(100000).default(128),
        /** Boot-file responses one client address may have in flight (iPXE fetches one file at a time). */
        maxFileStreamsPerSource: z.number().int().min(1).max(100000).default(4),
        /**
         * Requests whose body is still arriving, never more than a quarter of maxInFlight. When they
         * are all taken, a new request with a body cuts the oldest one (slow uploads cannot fill the
         * server; a node's small POST arrives in one packet and is never the oldest for long).
         */
        maxReceivingBodies: z.number().int().min(1).max(100000).default(64),
        /** Seconds a client may take to send a request's headers (node http.Server headersTimeout); then 408 and close. */
        headersTimeoutSeconds: z.number().positive().max(3600).default(10),
        /** Seconds a client may take to send a whole request, body included (http.Server requestTimeout); then 408 and close. */
        requestTimeoutSeconds: z.number().positive().max(3600).default(30),
        /**
         * A response whose bytes wait for a client that reads nothing for this many seconds is cut
         * and its slot freed (as nginx send_timeout: between two successful writes, not in total).
         */
        sendStallSeconds: z.number().positive().max(3600).default(60),
        /** Largest POST /RPC2 body; a larger one is answered 413 unread. Node calls are a few hundred bytes. */
        rpcMaxBodyBytes: z
          .number()
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .default(64 * 1024),
        /**
         * Most `<` and `&` in one /RPC2 body, counted before the XML parser runs (its cost grows with
         * elements and references: about 5 µs each); beyond it a parse-error fault. Node calls use ~40.
         */
        rpcMaxMarkup: z.number().int().min(64).max(1_000_000).default(1024),
        /** /RPC2 bodies waiting to be parsed or being parsed; parses run one per event-loop turn. Beyond it 503. */
        rpcMaxPendingParses: z.number().int().min(1).max(10000).default(16),
        /** The same per client address; beyond it 429. */
        rpcMaxPendingParsesPerSource: z.number().int().min(1).max(10000).default(2),
        /** Largest page a /api/v1 list answers (`?limit=`, default 100); a bigger limit is 400. */
        apiMaxPageSize: z.number().int().min(1).max(100000).default(1000),
        /**
         * Open /api/v1/events/stream connections (Server-Sent Events) at once, in all and from one
         * client address; beyond either 429 + Retry-After. Each also holds one maxInFlight slot.
         */
        apiMaxEventStreams: z.number().int().min(1).max(10000).default(32),
        apiMaxEventStreamsPerSource: z.number().int().min(1).max(10000).default(4),
        /** How often an event stream asks the store for new events (seconds). */
        apiEventPollSeconds: z.number().min(0.01).max(60).default(1),
        /** An event stream with nothing to send writes a comment this often (proxies and clients see it alive). */
        apiEventHeartbeatSeconds: z.number().min(0.01).max(3600).default(15),
        /** A dashboard login session lasts this long (seconds; its cookie's Max-Age); then the page asks for the token again. */
        sessionMaxAgeSeconds: z
          .number()
          .int()
          .min(60)
          .max(30 * 86400)
          .default(8 * 3600),
        /** Dashboard sessions kept at once (in memory); beyond it the expired ones, then the oldest, end. */
        maxSessions: z.number().int().min(1).max(100000).default(256),
        /** Dashboard login attempts (right or wrong) one client address may make in any minute; beyond it 429 + Retry-After. */
        loginAttemptsPerMinute: z.number().int().min(1).max(10000).default(10),
        /**
         * Requests to /sync/v1/payload one client address may make in any minute, right or wrong
         * credential alike; beyond it 429 + Retry-After. A node asks once at boot and once a poll
         * (sync.pollSeconds, 60 by default).
         */
        syncRequestsPerMinute: z.number().int().min(1).max(10000).default(20),
        /**
         * Changes of one host's reported CPUs/memory (netroot.reportStatus) stored in any hour; each
         * runs the plugins (slurm.conf, a slurmctld restart). Beyond: E_TOO_MANY_FACT_CHANGES, nothing stored.
         */
        factsChangesPerHostPerHour: z.number().int().min(1).max(3600).default(6),
        /** Bearer token for state-changing REST calls; generated under stateDir when empty. */
        apiToken: z
          .string()
          .regex(/^[\x21-\x7e]{0,512}$/, 'must be at most 512 printable ASCII characters with no space (it travels as `Authorization: Bearer <token>`)')
          .default(''),
      })
      .strict()
      .prefault({}),
    sync: z
      .object({
        /** The UID (and GID) range `netroot sync users` pushes to nodes; the nodes leave every other account alone. */
        minUid: z.number().int().min(1).max(4294967294).default(1000),
        maxUid: z.number().int().min(1).max(4294967294).default(59999),
        /** Where passwd, group and shadow are read from (tests point it elsewhere). */
        etcDir: z.string().min(1).default('/etc'),
        /** The cluster's munge key (Debian munge); absent: the payload carries none. */
        mungeKeyPath: z.string().min(1).default('/etc/munge/munge.key'),
        /** Largest signed payload the frontend builds and a node fetches, bytes. */
        maxPayloadBytes: z
          .number()
          .int()
          .min(4096)
          .max(64 * 1024 * 1024)
          .default(8 * 1024 * 1024),
        /** How often a node asks for a newer payload (its systemd timer), seconds. */
        pollSeconds: z.number().int().min(10).max(86400).default(60),
      })
      .strict()
      .refine((s) => s.minUid <= s.maxUid, { message: 'sync.minUid must not be above sync.maxUid', path: ['maxUid'] })
      .prefault({}),
    tftp: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().default('0.0.0.0'),
        port: port.default(69),
        root: z.string().default(''),
        /** Transfers at once; beyond this every request is answered "busy" (ERROR 0). */
        maxTransfers: z.number().int().min(1).max(65536).default(1024),
        /**
         * Transfers at once from one source address; more are answered "busy" while other
         * addresses are still served. A booting node runs one at a time (a few while a failed
         * attempt times out).
         */
        maxTransfersPerClient: z.number().int().min(1).max(65536).default(16),
        /**
         * Bytes one transfer may have in flight, blksize × windowsize. Bigger requests are answered
         * a smaller windowsize, then blksize (RFC 7440, RFC 2348): 256 KiB keeps blksize 1468 with
         * windowsize 64 as asked and gives blksize 65464 windowsize 4.
         */
        maxWindowBytes: z
          .number()
          .int()
          .min(512)
          .max(64 * 1024 * 1024)
          .default(256 * 1024),
        /**
         * Bytes all transfers together may hold (windows in flight + read-ahead of files not in
         * the cache). As it fills, new transfers get smaller windows, then "busy".
         */
        maxBufferedBytes: z
          .number()
          .int()
          .min(64 * 1024)
          .default(64 * 1024 * 1024),
        /**
         * Client `timeout` options (RFC 2349, seconds) above this are ignored and the server keeps
         * its own 1 s; 0 ignores them all. A transfer nobody acknowledges ends after
         * max(1, this) × 6 seconds (5 retries).
         */
        maxTimeoutSeconds: z.number().int().min(0).max(255).default(5),
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
        /**
         * Answer IPv6 Router Solicitations on dhcp.interfaces with an RA that gives nothing (router
         * lifetime 0, no prefix, no DHCPv6): iPXE's IPv6 configuration then ends at once instead of
         * soliciting for ~16 s on every boot (src/dhcp/ra-responder.ts). Turn it off when an IPv6
         * router on the provisioning network must configure the firmware.
         */
        routerAdvertisement: z.boolean().default(true),
        /**
         * Tell iPXE not to wait for ProxyDHCP offers (encapsulated option 175.176 no-pxedhcp = 1 in
         * its offers and acks): without it iPXE collects them for about 3 s on every boot. Turn it
         * off when a ProxyDHCP server on the provisioning network must reach iPXE.
         */
        ipxeNoProxyDhcp: z.boolean().default(true),
        /** Router advertisements to one source address per minute (a booting node needs one or two). */
        raMaxPerSourcePerMinute: z.number().int().min(1).max(600).default(10),
        /** Router advertisements per second over all sources. */
        raMaxPerSecond: z.number().int().min(1).max(100_000).default(100),
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
        // Availability limits (issue #14 item 1). Whatever a client without credentials can hold —
        // a connection still in login, a discovery session (no CHAP) — is capped per source address
        // and in total and has an idle and a total deadline, so it can never starve the logins of
        // nodes with credentials (normal sessions: ACL + CHAP), which have their own cap.
        /** Normal sessions (a node's disk: ACL and CHAP passed). Discovery sessions do not count. */
        maxSessions: z.number().int().min(1).max(65535).default(1024),
        /** Seconds from TCP accept to the end of login; a login still going then is cut off. */
        loginTimeoutSeconds: z.number().int().min(1).max(300).default(15),
        /** Seconds a connection in login may send nothing before it is cut off (a real initiator answers at once). */
        loginIdleSeconds: z.number().int().min(1).max(300).default(5),
        /** Connections in login phase over all sources; a new one beyond it is reset at once. */
        maxLoginConnections: z.number().int().min(1).max(65535).default(256),
        /** Connections in login phase from one source address; a new one beyond it is reset at once. */
        maxLoginConnectionsPerSource: z.number().int().min(1).max(1024).default(8),
        /** Discovery sessions (SendTargets, no CHAP) over all sources; a discovery login beyond it gets "out of resources"; 0 refuses them all. */
        maxDiscoverySessions: z.number().int().min(0).max(4096).default(64),
        /** Discovery sessions from one source address. */
        maxDiscoverySessionsPerSource: z.number().int().min(1).max(64).default(4),
        /** Seconds a discovery session may send nothing before it is closed (iscsiadm's takes well under one). */
        discoveryIdleSeconds: z.number().int().min(1).max(3600).default(10),
        /** Seconds a discovery session may last after its login, however busy. */
        discoveryMaxSeconds: z.number().int().min(1).max(3600).default(60),
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
    /**
     * The home export of the nfs-home role (src/cluster/nfs.ts): served by the kernel NFS server or
     * nfs-ganesha outside netroot; with `enabled`, `netroot serve`'s start report says whether
     * <server>:<port> answers NFSv4.
     */
    nfs: z
      .object({
        enabled: z.boolean().default(false),
        exportDir: z
          .string()
          .regex(/^\/[A-Za-z0-9._/-]{1,255}$/)
          .default('/export/home'),
        /** The NFS server's address; '': network.frontendAddress. */
        server: z.union([z.literal(''), ipv4]).default(''),
        port: port.default(2049),
        checkTimeoutMs: z.number().int().min(100).max(60_000).default(3000),
      })
      .strict()
      .prefault({}),
    /**
     * Slurm (roles slurm-controller and slurm-client, src/cluster): with `enabled`, the slurm-conf
     * insert-ethers plugin keeps <stateDir>/slurm/slurm.conf in step with the hosts and applies it.
     */
    slurm: z
      .object({
        enabled: z.boolean().default(false),
        clusterName: z
          .string()
          .regex(/^[a-z0-9_]{1,40}$/)
          .default('netroot'),
        /** The controller's name in SlurmctldHost (slurmctld checks it is its own short host name); '': this machine's. */
        controller: z
          .string()
          .regex(/^([A-Za-z0-9][A-Za-z0-9._-]{0,62})?$/)
          .default(''),
        /** Extra slurm.conf settings (key → value), replacing netroot's default of the same key. */
        settings: z.record(z.string(), z.string()).default({}),
        /** Applies a new file whose node definitions did not change (run with SLURM_CONF=<the file>). */
        reconfigure: z.array(z.string().min(1)).min(1).default(['scontrol', 'reconfigure']),
        /** Applies a new file whose node definitions changed (a node came, went, or reported new CPUs or
         *  memory): Slurm 22.05 applies no node change on reconfigure and must restart. */
        restart: z.array(z.string().min(1)).min(1).default(['systemctl', 'restart', 'slurmctld']),
        /** Time limit of one reconfigure or restart. */
        applyTimeoutMs: z.number().int().min(1000).max(600_000).default(60_000),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        backend: z.enum(['embedded', 'tgt', 'lio', 'rbd']).default('embedded'),
        /** backend tgt and rbd: tgtd's control port (tgtd -C N / tgtadm -C N); 0 is tgtd's default socket. */
        tgtControlPort: z.number().int().min(0).max(65535).default(0),
        /**
         * backend rbd: volumes are RBD images in `pool`, exported by tgtd's rbd backing store
         * (src/storage/rbd.ts). `keyring` is the path of client.<clientId>'s keyring (a secret:
         * only the path is ever passed or logged); `timeoutSeconds` bounds every call to a cluster
         * that does not answer.
         */
        rbd: z
          .object({
            pool: z
              .string()
              .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/)
              .default('rbd'),
            conf: z.string().min(1).default('/etc/ceph/ceph.conf'),
            clientId: z
              .string()
              .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
              .default('netroot'),
            keyring: z.string().min(1).default('/etc/ceph/ceph.client.netroot.keyring'),
            timeoutSeconds: z.number().int().min(1).max(600).default(10),
            /** Provisioning limit in GiB; 0: the pool's own capacity (`ceph df`). */
            limitGiB: z.number().min(0).default(0),
          })
          .strict()
          .prefault({}),
        volumesDir: z.string().default(''),
        /** IQN naming: iqn.<iqnDate>.<reversed iqnDomain>:<host> */
        iqnDomain: z
          .string()
          .regex(/^[a-z0-9.-]+$/)
          .default('netroot.local'),
        iqnDate: z
          .string()
          .regex(/^\d{4}-\d{2}$/)
          .default('2026-11'),
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
                backend: z.enum(['embedded', 'tgt', 'lio', 'rbd']).default('embedded'),
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
