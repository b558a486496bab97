// The configuration schema itself (src/config/schema.ts), without files or the environment: every
// default, every numeric bound, and the edges of every string, enum, boolean and pattern setting.
// This is the contract of netroot.yaml (a change here is a change of contract; docs/LIMITS.md may
// need it too). Written against the mutants docs/mutation/config-schema.md lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../src/config/schema.js';

/** `{ a: { b: value } }` for the path `a.b` (and deeper). */
function at(path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  const root: Record<string, unknown> = {};
  let o = root;
  for (const k of keys.slice(0, -1)) o = (o[k] = {}) as Record<string, unknown>;
  o[keys.at(-1)!] = value;
  return root;
}
const ok = (path: string, value: unknown) => configSchema.safeParse(at(path, value)).success;
/** The messages of the problems a value gives, each prefixed with its path. */
function issues(path: string, value: unknown): string[] {
  const r = configSchema.safeParse(at(path, value));
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}
/** The value a setting parses to (the default when `value` is undefined and the key is absent). */
function parsed(path: string, value?: unknown): unknown {
  let o: unknown = configSchema.parse(value === undefined ? {} : at(path, value));
  for (const k of path.split('.')) o = (o as Record<string, unknown>)[k];
  return o;
}

test('the whole default configuration, exactly (what `netroot serve` runs with and no file)', () => {
  assert.deepEqual(configSchema.parse({}), {
    stateDir: '/var/lib/netroot',
    logLevel: 'info',
    log: { format: 'pretty' },
    events: { maxRows: 100000 },
    store: { url: '', poolSize: 10, connectTimeoutMs: 10000, readCacheEntries: 10000 },
    servers: { heartbeatSeconds: 10, staleSeconds: 30 },
    profile: { rolesDir: '', graphsDir: '', graph: 'default', siteDir: '', includeDir: '', allowEval: false },
    network: { privateNetwork: '10.1.0.0/16', frontendAddress: '10.1.1.1', domain: 'local', dns: [] },
    power: { parallel: 32, timeoutSeconds: 20, ipmitool: 'ipmitool', ipmiCipherSuite: 3, ipmiRetries: 2, redfishMaxResponseBytes: 1048576 },
    http: {
      host: '0.0.0.0',
      port: 8080,
      maxInFlight: 256,
      retryAfterSeconds: 2,
      maxInFlightPerSource: 32,
      maxFileStreams: 128,
      maxFileStreamsPerSource: 4,
      maxReceivingBodies: 64,
      headersTimeoutSeconds: 10,
      requestTimeoutSeconds: 30,
      sendStallSeconds: 60,
      rpcMaxBodyBytes: 65536,
      rpcMaxMarkup: 1024,
      rpcMaxPendingParses: 16,
      rpcMaxPendingParsesPerSource: 2,
      apiMaxPageSize: 1000,
      apiMaxEventStreams: 32,
      apiMaxEventStreamsPerSource: 4,
      apiEventPollSeconds: 1,
      apiEventHeartbeatSeconds: 15,
      sessionMaxAgeSeconds: 28800,
      maxSessions: 256,
      loginAttemptsPerMinute: 10,
      syncRequestsPerMinute: 20,
      apiToken: '',
      factsChangesPerHostPerHour: 6,
    },
    sync: {
      minUid: 1000,
      maxUid: 59999,
      etcDir: '/etc',
      mungeKeyPath: '/etc/munge/munge.key',
      maxPayloadBytes: 8388608,
      pollSeconds: 60,
    },
    tftp: {
      enabled: true,
      host: '0.0.0.0',
      port: 69,
      root: '',
      maxTransfers: 1024,
      maxTransfersPerClient: 16,
      maxWindowBytes: 262144,
      maxBufferedBytes: 67108864,
      maxTimeoutSeconds: 5,
    },
    dhcp: {
      interfaces: [],
      port: 67,
      leaseSeconds: 86400,
      poolStart: '',
      poolEnd: '',
      poolLeaseSeconds: 600,
      routerAdvertisement: true,
      ipxeNoProxyDhcp: true,
      raMaxPerSourcePerMinute: 10,
      raMaxPerSecond: 100,
    },
    iscsi: {
      enabled: true,
      host: '0.0.0.0',
      port: 3260,
      portal: '',
      pingIdleSeconds: 30,
      pingTimeoutSeconds: 60,
      maxSessions: 1024,
      loginTimeoutSeconds: 15,
      loginIdleSeconds: 5,
      maxLoginConnections: 256,
      maxLoginConnectionsPerSource: 8,
      maxDiscoverySessions: 64,
      maxDiscoverySessionsPerSource: 4,
      discoveryIdleSeconds: 10,
      discoveryMaxSeconds: 60,
    },
    boot: {
      installKernel: 'install/vmlinuz',
      installInitrd: 'install/initrd.img',
      installArgs: 'inst.ks.sendmac console=tty0 console=ttyS0,115200',
      disklessKernel: 'diskless/vmlinuz',
      disklessInitrd: 'diskless/initrd.img',
      disklessInterface: 'bootnet',
      disklessArgs: 'console=ttyS0,115200',
      uefiIpxe: 'ipxe.efi',
    },
    nfs: {
      enabled: false,
      exportDir: '/export/home',
      server: '',
      port: 2049,
      checkTimeoutMs: 3000,
    },
    slurm: {
      enabled: false,
      clusterName: 'netroot',
      controller: '',
      settings: {},
      reconfigure: ['scontrol', 'reconfigure'],
      restart: ['systemctl', 'restart', 'slurmctld'],
      applyTimeoutMs: 60000,
    },
    storage: {
      backend: 'embedded',
      tgtControlPort: 0,
      rbd: {
        pool: 'rbd',
        conf: '/etc/ceph/ceph.conf',
        clientId: 'netroot',
        keyring: '/etc/ceph/ceph.client.netroot.keyring',
        timeoutSeconds: 10,
        limitGiB: 0,
      },
      volumesDir: '',
      iqnDomain: 'netroot.local',
      iqnDate: '2026-11',
      defaultVolumeGiB: 16,
      local: true,
      localLimitGiB: 0,
      mutualChap: false,
      nodes: [],
    },
  });
});

// Every numeric setting's bounds and default. Each bound is accepted, one step past it refused,
// integers refuse a fraction, a number written as a string is refused (the environment and flags are
// converted in load.ts, never by the schema). Found missing by mutation testing (docs/mutation.md).
// [setting, min, max (undefined: none), integer, default, min itself excluded (> min)]
const NUMERIC_SETTINGS: Array<[string, number, number | undefined, boolean, number, boolean?]> = [
  ['events.maxRows', 100, 100000000, true, 100000],
  ['store.poolSize', 1, 1000, true, 10],
  ['store.connectTimeoutMs', 100, 600000, true, 10000],
  ['power.parallel', 1, 1024, true, 32],
  ['power.timeoutSeconds', 1, 600, true, 20],
  ['power.ipmiCipherSuite', 0, 17, true, 3],
  ['power.ipmiRetries', 0, 10, true, 2],
  ['power.redfishMaxResponseBytes', 4096, 67108864, true, 1048576],
  ['http.port', 0, 65535, true, 8080],
  ['http.maxInFlight', 1, 100000, true, 256],
  ['http.retryAfterSeconds', 1, 3600, true, 2],
  ['http.maxInFlightPerSource', 1, 100000, true, 32],
  ['http.maxFileStreams', 1, 100000, true, 128],
  ['http.maxFileStreamsPerSource', 1, 100000, true, 4],
  ['http.maxReceivingBodies', 1, 100000, true, 64],
  ['http.headersTimeoutSeconds', 0, 3600, false, 10, true],
  ['http.requestTimeoutSeconds', 0, 3600, false, 30, true],
  ['http.sendStallSeconds', 0, 3600, false, 60, true],
  ['http.rpcMaxBodyBytes', 1024, 16777216, true, 65536],
  ['http.rpcMaxMarkup', 64, 1000000, true, 1024],
  ['http.rpcMaxPendingParses', 1, 10000, true, 16],
  ['http.rpcMaxPendingParsesPerSource', 1, 10000, true, 2],
  ['http.apiMaxPageSize', 1, 100000, true, 1000],
  ['http.apiMaxEventStreams', 1, 10000, true, 32],
  ['http.apiMaxEventStreamsPerSource', 1, 10000, true, 4],
  ['http.apiEventPollSeconds', 0.01, 60, false, 1],
  ['http.apiEventHeartbeatSeconds', 0.01, 3600, false, 15],
  ['http.sessionMaxAgeSeconds', 60, 2592000, true, 28800],
  ['http.maxSessions', 1, 100000, true, 256],
  ['http.loginAttemptsPerMinute', 1, 10000, true, 10],
  ['http.syncRequestsPerMinute', 1, 10000, true, 20],
  ['sync.maxPayloadBytes', 4096, 67108864, true, 8388608],
  ['sync.pollSeconds', 10, 86400, true, 60],
  ['tftp.port', 0, 65535, true, 69],
  ['tftp.maxTransfers', 1, 65536, true, 1024],
  ['tftp.maxTransfersPerClient', 1, 65536, true, 16],
  ['tftp.maxWindowBytes', 512, 67108864, true, 262144],
  ['tftp.maxBufferedBytes', 65536, Number.MAX_SAFE_INTEGER, true, 67108864],
  ['tftp.maxTimeoutSeconds', 0, 255, true, 5],
  ['dhcp.port', 0, 65535, true, 67],
  ['dhcp.leaseSeconds', 60, Number.MAX_SAFE_INTEGER, true, 86400],
  ['dhcp.poolLeaseSeconds', 60, Number.MAX_SAFE_INTEGER, true, 600],
  ['dhcp.raMaxPerSourcePerMinute', 1, 600, true, 10],
  ['dhcp.raMaxPerSecond', 1, 100000, true, 100],
  ['iscsi.port', 0, 65535, true, 3260],
  ['iscsi.pingIdleSeconds', 0, 3600, true, 30],
  ['iscsi.pingTimeoutSeconds', 5, 3600, true, 60],
  ['iscsi.maxSessions', 1, 65535, true, 1024],
  ['iscsi.loginTimeoutSeconds', 1, 300, true, 15],
  ['iscsi.loginIdleSeconds', 1, 300, true, 5],
  ['iscsi.maxLoginConnections', 1, 65535, true, 256],
  ['iscsi.maxLoginConnectionsPerSource', 1, 1024, true, 8],
  ['iscsi.maxDiscoverySessions', 0, 4096, true, 64],
  ['iscsi.maxDiscoverySessionsPerSource', 1, 64, true, 4],
  ['iscsi.discoveryIdleSeconds', 1, 3600, true, 10],
  ['iscsi.discoveryMaxSeconds', 1, 3600, true, 60],
  ['storage.tgtControlPort', 0, 65535, true, 0],
  ['storage.defaultVolumeGiB', 0, undefined, false, 16, true],
  ['storage.localLimitGiB', 0, undefined, false, 0],
  ['storage.rbd.timeoutSeconds', 1, 600, true, 10],
  ['storage.rbd.limitGiB', 0, undefined, false, 0],
];

test('every numeric setting: min and max accepted, one step beyond refused, integers only where integer, the default', () => {
  for (const [path, min, max, int, def, exclusive] of NUMERIC_SETTINGS) {
    const step = int ? 1 : min === 0 ? 0.001 : min / 2;
    if (exclusive) {
      assert.equal(ok(path, min), false, `${path} = ${min} (must be more)`);
      assert.equal(ok(path, min + 0.001), true, `${path} = ${min + 0.001}`);
    } else {
      assert.equal(ok(path, min), true, `${path} = ${min}`);
      assert.equal(ok(path, min - step), false, `${path} = ${min - step}`);
    }
    if (max !== undefined) {
      assert.equal(ok(path, max), true, `${path} = ${max}`);
      assert.equal(ok(path, max + (int ? 1 : 0.001)), false, `${path} = ${max} + 1`);
    }
    if (int) assert.equal(ok(path, min + 0.5), false, `${path} = ${min + 0.5}`);
    assert.equal(ok(path, String(def)), false, `${path} as a string`);
    assert.equal(parsed(path), def, `${path} default`);
  }
});

test('enums: each listed value accepted as itself, a near miss (case, empty) refused, the default', () => {
  const ENUMS: Array<[string, string[], string | undefined]> = [
    ['logLevel', ['debug', 'info', 'warn', 'error'], 'info'],
    ['log.level', ['debug', 'info', 'warn', 'error'], undefined],
    ['log.format', ['json', 'pretty'], 'pretty'],
    ['boot.uefiIpxe', ['ipxe.efi', 'snponly.efi'], 'ipxe.efi'],
    ['storage.backend', ['embedded', 'tgt', 'lio', 'rbd'], 'embedded'],
  ];
  for (const [path, values, def] of ENUMS) {
    for (const v of values) {
      assert.equal(parsed(path, v), v, `${path} = ${v}`);
      assert.equal(ok(path, v.toUpperCase()), false, `${path} = ${v.toUpperCase()}`);
    }
    for (const bad of ['', 'trace', 'zfs', 'ipxe.kpxe']) assert.equal(ok(path, bad), false, `${path} = ${JSON.stringify(bad)}`);
    assert.equal(parsed(path), def, `${path} default`);
  }
  // a remote storage node's backend: the same four, embedded when absent
  const node = { name: 'st1', url: 'http://10.1.1.2:8081', token: 't'.repeat(32) };
  for (const backend of ['embedded', 'tgt', 'lio', 'rbd']) {
    const c = configSchema.parse({ storage: { nodes: [{ ...node, backend }] } });
    assert.equal(c.storage.nodes[0]?.backend, backend);
  }
  assert.equal(configSchema.parse({ storage: { nodes: [node] } }).storage.nodes[0]?.backend, 'embedded');
  assert.equal(configSchema.safeParse({ storage: { nodes: [{ ...node, backend: '' }] } }).success, false);
});

test('booleans: true and false accepted as themselves, a string or number refused, the default', () => {
  const BOOLEANS: Array<[string, boolean]> = [
    ['profile.allowEval', false],
    ['tftp.enabled', true],
    ['dhcp.routerAdvertisement', true],
    ['dhcp.ipxeNoProxyDhcp', true],
    ['iscsi.enabled', true],
    ['storage.local', true],
    ['storage.mutualChap', false],
  ];
  for (const [path, def] of BOOLEANS) {
    assert.equal(parsed(path, true), true, `${path} = true`);
    assert.equal(parsed(path, false), false, `${path} = false`);
    for (const bad of ['true', 'false', 1, 0]) assert.equal(ok(path, bad), false, `${path} = ${JSON.stringify(bad)}`);
    assert.equal(parsed(path), def, `${path} default`);
  }
});

test('free strings (paths, host names, arguments): any string kept as given, a number refused; stateDir, ipmitool and redfishCaFile not empty', () => {
  const STRINGS = [
    'stateDir',
    'profile.rolesDir',
    'profile.graphsDir',
    'profile.siteDir',
    'profile.includeDir',
    'network.domain',
    'power.ipmitool',
    'power.redfishCaFile',
    'http.host',
    'tftp.host',
    'tftp.root',
    'iscsi.host',
    'boot.installKernel',
    'boot.installInitrd',
    'boot.installArgs',
    'boot.disklessKernel',
    'boot.disklessInitrd',
    'boot.disklessArgs',
    'storage.volumesDir',
  ];
  for (const path of STRINGS) {
    assert.equal(parsed(path, '/some where/x y'), '/some where/x y', path);
    assert.equal(parsed(path, 'x'), 'x', path);
    assert.equal(ok(path, 1), false, `${path} = 1`);
  }
  for (const path of ['stateDir', 'power.ipmitool', 'power.redfishCaFile']) assert.equal(ok(path, ''), false, `${path} = ''`);
  for (const path of STRINGS.filter((p) => !['stateDir', 'power.ipmitool', 'power.redfishCaFile'].includes(p))) {
    assert.equal(parsed(path, ''), '', `${path} = ''`);
  }
  assert.equal(parsed('power.redfishCaFile'), undefined, 'power.redfishCaFile: absent by default');
});

test('addresses and networks: dotted IPv4 only, with the message naming the form; pool ends and the portal also take ""', () => {
  const IPV4 = 'must be a dotted IPv4 address (four numbers 0-255)';
  for (const path of ['network.frontendAddress', 'network.router', 'dhcp.poolStart', 'dhcp.poolEnd', 'iscsi.portal']) {
    assert.equal(parsed(path, '192.168.0.254'), '192.168.0.254', path);
    for (const bad of ['1.2.3', '256.1.1.1', 'host.example', '10.1.1.1/16']) {
      const p = issues(path, bad);
      assert.ok(p.length > 0, `${path} = ${bad} accepted`);
      assert.ok(
        p.some((m) => m.includes(IPV4)),
        `${path} = ${bad}:\n${p.join('\n')}`,
      );
    }
  }
  for (const path of ['dhcp.poolStart', 'dhcp.poolEnd', 'iscsi.portal']) assert.equal(parsed(path, ''), '', `${path} = ''`);
  for (const path of ['network.frontendAddress', 'network.router']) assert.equal(ok(path, ''), false, `${path} = ''`);
  assert.equal(parsed('network.router'), undefined, 'network.router: absent by default');
  assert.deepEqual(issues('network.frontendAddress', '1.2.3'), [`network.frontendAddress: ${IPV4}`]);

  assert.deepEqual(parsed('network.dns', ['10.1.1.1', '8.8.8.8']), ['10.1.1.1', '8.8.8.8']);
  assert.deepEqual(issues('network.dns', ['10.1.1.1', 'dns.example']), [`network.dns.1: ${IPV4}`]);
  assert.deepEqual(parsed('network.dns', []), []);

  assert.equal(parsed('network.privateNetwork', '192.168.0.0/24'), '192.168.0.0/24');
  for (const bad of ['10.1.0.0', '10.1.0.0/33', '10.1.0/16', '']) {
    assert.deepEqual(issues('network.privateNetwork', bad), ['network.privateNetwork: must be an IPv4 network like 10.1.0.0/16'], bad);
  }
});

test('dhcp.interfaces: a list of non-empty names, empty by default', () => {
  assert.deepEqual(parsed('dhcp.interfaces', ['br0', 'eth1']), ['br0', 'eth1']);
  assert.deepEqual(parsed('dhcp.interfaces', []), []);
  assert.equal(ok('dhcp.interfaces', ['br0', '']), false, 'an empty name');
  assert.equal(ok('dhcp.interfaces', 'br0'), false, 'a string, not a list');
  assert.deepEqual(parsed('dhcp.interfaces'), []);
});

test('profile.graph: letters, digits, "_", "." and "-", at least one, nothing else anywhere', () => {
  for (const good of ['default', 'A', 'z', '0', '9', '_', '.', '-', 'AZaz09_.-', 'Rocks-7.0_x']) {
    assert.equal(parsed('profile.graph', good), good, good);
  }
  for (const bad of ['', 'a b', ' ab', 'ab ', '/etc', 'a/b', '../x', 'x\n', 'é', 'a+b']) {
    assert.equal(ok('profile.graph', bad), false, JSON.stringify(bad));
  }
});

test('boot.disklessInterface: 1..15 of letters, digits, "_", "." and "-", never a kernel name eth<N> (the message says why)', () => {
  for (const good of ['bootnet', 'b', 'A', 'Z', 'a', 'z', '0', '9', '_', '.', '-', 'x'.repeat(15), 'eth', 'ethx', 'eth0x', 'xeth0', 'Eth0', 'eth-1']) {
    assert.equal(parsed('boot.disklessInterface', good), good, good);
  }
  for (const bad of ['', 'x'.repeat(16), 'boot net', ' bootnet', 'bootnet ', 'boot/net', 'boot:net', 'bootnet\n', 'é']) {
    assert.equal(ok('boot.disklessInterface', bad), false, JSON.stringify(bad));
  }
  const ETH = 'boot.disklessInterface: must not be a kernel name like eth0 (it is bound to the MAC; use e.g. bootnet)';
  for (const bad of ['eth0', 'eth1', 'eth9', 'eth10', 'eth123']) assert.deepEqual(issues('boot.disklessInterface', bad), [ETH], bad);
});

test('storage.iqnDomain: lower-case letters, digits, "." and "-" (an IQN is lower case), at least one', () => {
  for (const good of ['netroot.local', 'a', 'z', '0', '9', '.', '-', 'az09.-']) assert.equal(parsed('storage.iqnDomain', good), good, good);
  for (const bad of ['', 'Netroot.local', 'A', 'Z', 'net_root', 'net root', ' a', 'a ', 'a:b', 'x\n']) {
    assert.equal(ok('storage.iqnDomain', bad), false, JSON.stringify(bad));
  }
});

test('storage.iqnDate: exactly YYYY-MM, digits only', () => {
  for (const good of ['2026-11', '0000-00', '9999-99', '1999-01']) assert.equal(parsed('storage.iqnDate', good), good, good);
  for (const bad of [
    '',
    '202-11',
    '20266-11',
    '2026-1',
    '2026-111',
    'x2026-11',
    '2026-11x',
    '2026_11',
    '2026/11',
    'abcd-ef',
    '2026-1a',
    '202a-11',
    ' 2026-11',
  ]) {
    assert.equal(ok('storage.iqnDate', bad), false, JSON.stringify(bad));
  }
});

test('http.apiToken: printable ASCII "!" to "~", no space, 0..512 characters, with its message', () => {
  for (const good of ['', '!', '~', '!~', 'A'.repeat(512), 'abc-DEF_123.xyz/+=']) assert.equal(parsed('http.apiToken', good), good, JSON.stringify(good));
  const MSG = 'http.apiToken: must be at most 512 printable ASCII characters with no space (it travels as `Authorization: Bearer <token>`)';
  for (const bad of ['A'.repeat(513), ' ', 'a b', '\x7f', '\x20abc', 'abc\x20', '\t', 'é']) {
    assert.deepEqual(issues('http.apiToken', bad), [MSG], JSON.stringify(bad));
  }
});

test('store.url: empty or postgres(ql)://… without spaces; anything else refused with its message, never the value', () => {
  for (const good of ['', 'postgres://h/db', 'postgresql://u:p@h:5433/db?sslmode=require', 'POSTGRES://h']) assert.equal(parsed('store.url', good), good, good);
  const MSG = 'store.url: must be empty (SQLite under stateDir) or postgres://user:password@host:port/database';
  for (const bad of ['postgres://', 'mysql://u:pw@h/db', 'postgres:/h', ' postgres://h', 'postgres://u:p w@h', 'sqlite:netroot.db'])
    assert.deepEqual(issues('store.url', bad), [MSG], bad);
  assert.equal(ok('store.url', 5432), false);
});

test('storage.rbd: pool and client id are plain names (no slash, no @, alphanumeric first), conf and keyring non-empty paths', () => {
  for (const pool of ['rbd', 'netroot.vols', 'a-b_c', 'x'.repeat(100)]) assert.equal(ok('storage.rbd.pool', pool), true, pool);
  for (const pool of ['', 'rbd/x', 'rbd@s', '-rbd', '.rbd', 'x'.repeat(101), 'a b']) assert.equal(ok('storage.rbd.pool', pool), false, pool);
  for (const id of ['netroot', 'admin', 'a.b-c_d']) assert.equal(ok('storage.rbd.clientId', id), true, id);
  for (const id of ['', 'client.x y', '-x', 'x'.repeat(65), 'a;b']) assert.equal(ok('storage.rbd.clientId', id), false, id);
  assert.equal(ok('storage.rbd.conf', ''), false);
  assert.equal(ok('storage.rbd.keyring', ''), false);
  assert.equal(ok('storage.rbd.keyring', '/srv/ceph/k'), true);
  assert.equal(configSchema.safeParse({ storage: { rbd: { pool: 'rbd', secret: 'x' } } }).success, false, 'strict: no unknown keys');
});

test('storage.nodes: name 1..63 of [a-z0-9.-] starting with a letter or digit; url http(s)://something (its message); token at least 32', () => {
  const node = { name: 'st1', url: 'http://10.1.1.2:8081', token: 't'.repeat(32) };
  const nodeOk = (o: Record<string, unknown>) => configSchema.safeParse({ storage: { nodes: [{ ...node, ...o }] } }).success;
  const nodeIssues = (o: Record<string, unknown>) => {
    const r = configSchema.safeParse({ storage: { nodes: [{ ...node, ...o }] } });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.deepEqual(configSchema.parse({ storage: { nodes: [node] } }).storage.nodes, [{ ...node, backend: 'embedded' }]);
  for (const name of ['a', 'z', '0', '9', 'a.b-c', 'st-1.rack2', `a${'b'.repeat(62)}`, `9${'-'.repeat(62)}`, 'a-', 'a.']) {
    assert.equal(nodeOk({ name }), true, name);
  }
  for (const name of ['', '-a', '.a', 'A', 'aB', 'a_b', 'a b', ' a', 'a ', `a${'b'.repeat(63)}`, 'a\n']) {
    assert.equal(nodeOk({ name }), false, JSON.stringify(name));
  }
  for (const url of ['http://x', 'https://x', 'https://st1.example:8443/api']) assert.equal(nodeOk({ url }), true, url);
  for (const url of ['', 'http://', 'https://', 'ftp://x', 'httpx://x', 'http:/x', 'xhttp://x', ' http://x', 'HTTP://x']) {
    assert.deepEqual(nodeIssues({ url }), ['storage.nodes.0.url: must be an http(s) URL'], JSON.stringify(url));
  }
  assert.equal(nodeOk({ token: 't'.repeat(31) }), false, 'a token of 31');
  assert.equal(nodeOk({ token: 't'.repeat(200) }), true, 'a long token');
  assert.equal(nodeOk({ extra: 1 }), false, 'an unknown key');
  assert.equal(configSchema.safeParse({ storage: { nodes: [{ url: node.url, token: node.token }] } }).success, false, 'no name');
});

test('unknown keys are refused at the top and in every section (a misspelt setting is an error, not ignored)', () => {
  const sections = ['log', 'events', 'store', 'profile', 'network', 'power', 'http', 'tftp', 'dhcp', 'iscsi', 'boot', 'storage'];
  assert.equal(configSchema.safeParse({ colour: 'red' }).success, false);
  for (const s of sections) {
    assert.deepEqual(
      configSchema.safeParse({ [s]: { colour: 'red' } }).error?.issues.map((i) => [i.code, i.path.join('.')]),
      [['unrecognized_keys', s]],
      s,
    );
    assert.equal(configSchema.safeParse({ [s]: {} }).success, true, `${s}: {}`);
  }
});
