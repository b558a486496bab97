import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelArgs, parseNetrootArg, formatLun, parseLun, rootPath, validateNodeBootInfo, type NodeBootInfo } from '../../src/initrd/index.js';
import { runParse, skipBusybox } from './init-shell.js';

const node: NodeBootInfo = {
  hostname: 'compute-0-0',
  initiatorIqn: 'iqn.2026-11.org.netroot:compute-0-0',
  targetIqn: 'iqn.2026-11.org.netroot.frontend:compute-0-0.root',
  portal: '10.1.1.1',
  port: 3260,
  lun: 1,
  chapUser: 'compute-0-0',
  chapSecret: 'Zq8#kP2!vL9w@x',
  rootUuid: '3F1C2B7E-9A5D-4C1B-8E2F-0123456789AB',
  interface: 'eth0',
};

test('kernelArgs: the dracut-compatible line, root UUID lower-cased', () => {
  assert.equal(
    kernelArgs(node),
    'root=UUID=3f1c2b7e-9a5d-4c1b-8e2f-0123456789ab netroot=iscsi:10.1.1.1::3260:1:iqn.2026-11.org.netroot.frontend:compute-0-0.root ' +
      'rd.iscsi.initiator=iqn.2026-11.org.netroot:compute-0-0 rd.iscsi.param=node.session.timeo.replacement_timeout=86400 ' +
      'rd.iscsi.param=node.conn[0].timeo.noop_out_interval=0 rd.iscsi.param=node.conn[0].timeo.noop_out_timeout=0 ip=eth0:dhcp rd.neednet=1',
  );
  assert.match(kernelArgs({ ...node, interface: undefined }), / ip=dhcp rd\.neednet=1$/);
  assert.match(kernelArgs(node, { console: 'ttyS0,115200' }), / console=ttyS0,115200$/);
  assert.throws(() => kernelArgs(node, { console: 'ttyS0 init=/bin/sh' }), { code: 'E_NODE_BOOT_INFO' });
});

test("kernelArgs with the boot NIC's MAC: the interface name is bound to it (dracut ifname=), so renaming cannot lose it", () => {
  const bound = { ...node, interface: 'bootnet', mac: '52:54:00:12:34:56' };
  assert.match(kernelArgs(bound), / rd\.iscsi\.initiator=\S+ (rd\.iscsi\.param=\S+ ){3}ifname=bootnet:52:54:00:12:34:56 ip=bootnet:dhcp rd\.neednet=1$/);
  // A kernel name would race the kernel's own eth<N> naming; an upper-case or short MAC is not one dracut matches.
  assert.throws(() => kernelArgs({ ...bound, interface: 'eth0' }), /interface "eth0" is a kernel name/);
  assert.throws(() => kernelArgs({ ...bound, mac: '52:54:00:12:34' }), { code: 'E_NODE_BOOT_INFO' });
  assert.throws(() => kernelArgs({ ...bound, mac: '52:54:00:12:34:5G' }), { code: 'E_NODE_BOOT_INFO' });
  assert.throws(() => kernelArgs({ ...bound, interface: undefined }), /mac needs an interface name/);
});

test('the busybox /init finds the NIC bound by ifname= by its MAC', { skip: skipBusybox }, () => {
  const r = runParse(
    'root=UUID=3f1c2b7e-9a5d-4c1b-8e2f-0123456789ab netroot=iscsi:10.1.1.1::3260:1:iqn.2026-11.org.netroot.frontend:compute-0-0.root ifname=bootnet:52:54:00:12:34:56 ip=bootnet:dhcp',
  );
  assert.ok(r.ok, r.vars['nr_err']);
  assert.equal(r.vars['nr_iface'], 'bootnet');
  assert.equal(r.vars['nr_ifname'], 'bootnet');
  assert.equal(r.vars['nr_ifmac'], '52:54:00:12:34:56');
});

test('the busybox /init takes the root session parameters kernelArgs renders (for iscsistart -P)', { skip: skipBusybox }, () => {
  const r = runParse(kernelArgs({ ...node, interface: 'bootnet', mac: '52:54:00:12:34:56' }));
  assert.ok(r.ok, r.vars['nr_err']);
  assert.equal(
    r.vars['nr_params']?.trim(),
    'node.session.timeo.replacement_timeout=86400 node.conn[0].timeo.noop_out_interval=0 node.conn[0].timeo.noop_out_timeout=0',
  );
});

test('kernelArgs never carries the CHAP secret or user, whatever they are', () => {
  const secrets = ['Zq8#kP2!vL9w@x', 'compute-0-0-secret', 'a', '3260', 'iqn', 'dhcp', 'x'.repeat(255), 'q\'uote"d$(x)`y`'];
  for (const chapSecret of secrets) {
    const n = { ...node, chapUser: 'chapuser-unique-17', chapSecret };
    const args = kernelArgs(n);
    assert.ok(!args.includes('chapuser-unique-17'), args);
    for (const word of args.split(' ')) {
      assert.ok(!word.split(/[=:@]/).includes(chapSecret) || ['a', '3260', 'iqn', 'dhcp'].includes(chapSecret), `secret ${chapSecret} in ${word}`);
    }
    if (chapSecret.length > 4) assert.ok(!args.includes(chapSecret), args);
    assert.equal(parseNetrootArg(args).password, undefined);
    assert.equal(parseNetrootArg(args).username, undefined);
  }
});

test('IPv6 portals go in brackets; LUNs are hexadecimal (RFC 4173)', () => {
  const v6 = kernelArgs({ ...node, portal: 'fd00:1::1', lun: 26 });
  assert.match(v6, / netroot=iscsi:\[fd00:1::1\]::3260:1a:iqn\./);
  assert.deepEqual({ server: parseNetrootArg(v6).server, lun: parseNetrootArg(v6).lun }, { server: 'fd00:1::1', lun: 26 });
  assert.equal(formatLun(0), '0');
  assert.equal(formatLun(255), 'ff');
  assert.equal(formatLun(256), '4100');
  for (const l of [0, 1, 9, 10, 255, 256, 4095, 16383]) assert.equal(parseLun(formatLun(l)), l);
  assert.equal(parseLun(''), 0);
  assert.equal(parseLun('0001-0000-0000-0000'), 1);
  assert.equal(parseLun('4123'), 0x123);
  for (const bad of ['g', '00001', '0001-0001', '0101', '8000', '1-2-3-4-5']) assert.throws(() => parseLun(bad), { code: 'E_NETROOT_ARG' }, bad);
  assert.equal(rootPath(node), 'iscsi:10.1.1.1::3260:1:iqn.2026-11.org.netroot.frontend:compute-0-0.root');
});

test('validateNodeBootInfo names the bad field and never echoes a secret', () => {
  const cases: Array<[Partial<NodeBootInfo>, RegExp]> = [
    [{ hostname: 'bad host' }, /^hostname/],
    [{ initiatorIqn: 'iqn.bogus' }, /^initiatorIqn/],
    [{ targetIqn: 'IQN.2026-11.org:x' }, /^targetIqn/],
    [{ portal: '10.1.1.256' }, /^portal/],
    [{ portal: '' }, /^portal/],
    [{ port: 0 }, /^port/],
    [{ port: 65536 }, /^port/],
    [{ lun: -1 }, /^lun/],
    [{ lun: 1.5 }, /^lun/],
    [{ rootUuid: 'not-a-uuid' }, /^rootUuid/],
    [{ interface: 'eth0; reboot' }, /^interface/],
    [{ chapSecret: undefined }, /^chapUser\/chapSecret/],
    [{ chapSecret: 'has space' }, /^chapSecret/],
    [{ chapSecret: 'line\nbreak' }, /^chapSecret/],
    [{ cloneId: '' }, /^cloneId/],
    [{ cloneId: 'ABCDEF0123456789' }, /^cloneId/],
    [{ cloneId: '0123456; reboot' }, /^cloneId/],
    [{ cloneId: 'a'.repeat(65) }, /^cloneId/],
    [{ firstboot: 'echo\0x' }, /^firstboot/],
  ];
  for (const [patch, re] of cases) {
    assert.throws(
      () => validateNodeBootInfo({ ...node, ...patch }),
      (e: unknown) => {
        const err = e as { code: string; message: string };
        assert.equal(err.code, 'E_NODE_BOOT_INFO');
        assert.match(err.message, re);
        assert.ok(!err.message.includes('has space') && !err.message.includes('line\nbreak'));
        return true;
      },
    );
  }
  assert.ok(validateNodeBootInfo({ ...node, chapUser: undefined, chapSecret: undefined, portal: 'frontend.local', targetIqn: 'eui.0123456789ABCDEF' }));
  assert.ok(validateNodeBootInfo({ ...node, targetIqn: 'naa.60014055f8d3a3f0c3b14e3c8e2bd4a1' }));
  assert.ok(validateNodeBootInfo({ ...node, cloneId: '0123456789abcdef', firstboot: 'echo hi\n' }));
});

// Root paths as dracut documents them (dracut.cmdline(7), 95iscsi) and what they mean.
const DRACUT_CASES: Array<[string, Record<string, unknown>]> = [
  [
    'netroot=iscsi:192.168.50.1::::iqn.2009-06.dracut:target0',
    { server: '192.168.50.1', protocol: '', port: 3260, lun: 0, targetIqn: 'iqn.2009-06.dracut:target0' },
  ],
  ['netroot=iscsi:192.168.50.1::3260:1:iqn.2009-06.dracut:target1', { server: '192.168.50.1', port: 3260, lun: 1, targetIqn: 'iqn.2009-06.dracut:target1' }],
  ['netroot=iscsi:[2001:DB8::1]::3261:0:iqn.2009-06.dracut:target0', { server: '2001:DB8::1', port: 3261, lun: 0, targetIqn: 'iqn.2009-06.dracut:target0' }],
  ['netroot=iscsi:user:secret@192.168.50.1::3260::iqn.2009-06.dracut:target0', { username: 'user', password: 'secret', server: '192.168.50.1', lun: 0 }],
  ['netroot=iscsi:u:p:iu:ip@10.0.0.1::3260:2:iqn.2009-06.dracut:t', { username: 'u', password: 'p', inUsername: 'iu', inPassword: 'ip', lun: 2 }],
  [
    'netroot=iscsi:@192.168.1.100::3260::iqn.2009-01.com.example:testdi@sk',
    { server: '192.168.1.100', targetIqn: 'iqn.2009-01.com.example:testdi@sk', username: undefined },
  ],
  ['netroot=iscsi:10.0.0.1:6:3260:default:eth0:3:iqn.2009-06.dracut:t', { ifaceName: 'default', netdevName: 'eth0', lun: 3, protocol: '6' }],
  ['netroot=iscsi:10.0.0.1::3260::legacy-target-name', { server: '10.0.0.1', lun: 0, targetIqn: 'legacy-target-name' }],
  ['netroot=iscsi:10.0.0.1::3260:5:my:odd:target', { server: '10.0.0.1', lun: 5, targetIqn: 'my:odd:target' }],
  [
    'root=iscsi:10.0.0.9::3260:1:iqn.2009-06.dracut:root netroot=iscsi:10.0.0.1::3260:1:iqn.2009-06.dracut:other',
    { server: '10.0.0.9', targetIqn: 'iqn.2009-06.dracut:root' },
  ],
  ['iscsi:10.0.0.1::::eui.0123456789ABCDEF', { targetIqn: 'eui.0123456789ABCDEF', lun: 0 }],
];

test('parseNetrootArg reads root paths the way dracut documents them', () => {
  for (const [arg, want] of DRACUT_CASES) {
    const got = parseNetrootArg(arg) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(want)) assert.equal(got[k], v, `${arg}: ${k}`);
  }
  for (const bad of [
    'netroot=nfs:10.0.0.1:/export',
    'netroot=iscsi:10.0.0.1',
    'netroot=iscsi:10.0.0.1::3260:1:',
    'netroot=iscsi:10.0.0.1::3260:no-lun-field',
    'netroot=iscsi:10.0.0.1:17:3260:1:iqn.2009-06.dracut:t',
    'netroot=iscsi:10.0.0.1::99999:1:iqn.2009-06.dracut:t',
    'netroot=iscsi:10.0.0.1::port:1:iqn.2009-06.dracut:t',
    'netroot=iscsi:[fd00::1:3260:1:iqn.2009-06.dracut:t',
    'netroot=iscsi:a:b:c:d:e@10.0.0.1::3260:1:iqn.2009-06.dracut:t',
    'netroot=iscsi:10.0.0.1::3260:a:b:c:1:iqn.2009-06.dracut:t',
    'quiet splash',
  ])
    assert.throws(() => parseNetrootArg(bad), { code: 'E_NETROOT_ARG' }, bad);
});

test('kernelArgs round-trips through parseNetrootArg for many nodes', () => {
  for (const portal of ['10.1.1.1', '192.168.0.254', 'fd00::1', '2001:db8:0:1::42', 'frontend.cluster']) {
    for (const lun of [0, 1, 7, 10, 200, 300]) {
      for (const port of [3260, 3261, 65535]) {
        const n = { ...node, portal, lun, port };
        const p = parseNetrootArg(kernelArgs(n));
        assert.deepEqual([p.server, p.port, p.lun, p.targetIqn, p.protocol], [portal, port, lun, n.targetIqn, '']);
      }
    }
  }
});

test('init.sh parses the same root paths as parseNetrootArg', { skip: skipBusybox }, () => {
  const lines = [
    ...DRACUT_CASES.map(([a]) => (a.startsWith('iscsi:') ? `netroot=${a}` : a)).filter((a) => !a.includes('default:eth0')),
    kernelArgs(node),
    kernelArgs({ ...node, portal: 'fd00:1::1', lun: 26, port: 3261 }),
    kernelArgs({ ...node, lun: 300 }),
  ];
  for (const line of lines) {
    const ts = parseNetrootArg(line);
    const sh = runParse(line);
    assert.ok(sh.ok, `${line}: ${sh.vars['nr_err']}`);
    assert.deepEqual(
      [sh.vars['nr_portal'], sh.vars['nr_port'], sh.vars['nr_lun'], sh.vars['nr_target']],
      [ts.server, String(ts.port), String(ts.lun), ts.targetIqn],
      line,
    );
  }
});

test('boundaries: LUN 0..16383, port 1..65535 — in validateNodeBootInfo, formatLun and parseNetrootArg alike', () => {
  for (const lun of [0, 16383]) assert.ok(validateNodeBootInfo({ ...node, lun }), `lun ${lun}`);
  for (const lun of [-1, 16384, 65535, Number.NaN]) {
    assert.throws(() => validateNodeBootInfo({ ...node, lun }), { code: 'E_NODE_BOOT_INFO', message: /^lun/ }, `lun ${lun}`);
    assert.throws(() => formatLun(lun), { code: 'E_NODE_BOOT_INFO' }, `formatLun ${lun}`);
  }
  assert.equal(formatLun(16383), '7fff', 'the largest flat-space LUN');
  assert.equal(parseLun('7fff'), 16383);
  assert.equal(parseLun('00ff'), 255);
  assert.throws(() => parseLun('0100'), { code: 'E_NETROOT_ARG' }, 'peripheral addressing, bus 1');
  assert.throws(() => parseLun('c000'), { code: 'E_NETROOT_ARG' }, 'extended addressing');
  for (const port of [1, 65535]) assert.ok(validateNodeBootInfo({ ...node, port }), `port ${port}`);
  for (const port of [0, -1, 65536, 3260.5])
    assert.throws(() => validateNodeBootInfo({ ...node, port }), { code: 'E_NODE_BOOT_INFO', message: /^port/ }, `port ${port}`);
  const path = (port: string) => `iscsi:10.0.0.1::${port}:0:iqn.2009-06.dracut:t`;
  assert.equal(parseNetrootArg(path('1')).port, 1);
  assert.equal(parseNetrootArg(path('65535')).port, 65535);
  assert.equal(parseNetrootArg(path('03260')).port, 3260, 'leading zeros are decimal');
  assert.equal(parseNetrootArg(path('')).port, 3260, 'empty port: the iSCSI default');
  for (const bad of ['0', '00000', '65536', '99999', '123456', '-1', '+1', ' 1', '0x10']) {
    assert.throws(() => parseNetrootArg(path(bad)), { code: 'E_NETROOT_ARG' }, `port ${JSON.stringify(bad)}`);
  }
});

// dracut takes what precedes the first `@` as credentials only when the rest has the four `:` of
// <server>:<proto>:<port>:<lun>:<target>; with fewer, the `@` belongs to a name.
test('credentials: recognised with four ":" after "@", never with three; at most four fields', () => {
  const four = parseNetrootArg('iscsi:u:p@srv::3260:0:tgt');
  assert.deepEqual([four.username, four.password, four.server, four.port, four.lun, four.targetIqn], ['u', 'p', 'srv', 3260, 0, 'tgt']);
  // three ":" after the "@": no credentials; the "@" is part of an RFC 4173 target name
  const three = parseNetrootArg('iscsi:10.0.0.1::3260:0:tgt@a:b:c:d');
  assert.deepEqual([three.username, three.server, three.port, three.lun, three.targetIqn], [undefined, '10.0.0.1', 3260, 0, 'tgt@a:b:c:d']);
  const threeV6 = parseNetrootArg('iscsi:[fd00::1]::3260:1:x@y:z:w:v');
  assert.deepEqual([threeV6.username, threeV6.server, threeV6.lun, threeV6.targetIqn], [undefined, 'fd00::1', 1, 'x@y:z:w:v']);
  // one credential field alone, then all four
  assert.deepEqual([parseNetrootArg('iscsi:u@srv::3260:0:tgt').username, parseNetrootArg('iscsi:u@srv::3260:0:tgt').password], ['u', undefined]);
  const all = parseNetrootArg('iscsi:a:b:c:d@[2001:db8::7]::3261:2:iqn.2009-06.dracut:t');
  assert.deepEqual([all.username, all.password, all.inUsername, all.inPassword, all.server, all.port, all.lun], ['a', 'b', 'c', 'd', '2001:db8::7', 3261, 2]);
  assert.throws(() => parseNetrootArg('iscsi:a:b:c:d:e@srv::3260:0:tgt'), { code: 'E_NETROOT_ARG', message: /credentials/ });
});

test('IPv6 servers: bracketed in the root path, brackets required to parse, portal syntax checked', () => {
  for (const portal of ['::1', 'fd00::1', '2001:db8::1', 'fe80::1:2:3:4', '::ffff:10.1.1.1', '2001:db8:0:0:0:0:0:1']) {
    assert.ok(validateNodeBootInfo({ ...node, portal }), portal);
    const p = parseNetrootArg(kernelArgs({ ...node, portal }));
    assert.equal(p.server, portal);
    assert.match(rootPath({ ...node, portal }), new RegExp(`^iscsi:\\[${portal.replace(/[.]/g, '\\.')}\\]::`));
  }
  for (const portal of ['fd00::1::2', 'fd00::g', '[fd00::1]', 'fd00::1%eth0', `${'1:'.repeat(23)}1`]) {
    assert.throws(() => validateNodeBootInfo({ ...node, portal }), { code: 'E_NODE_BOOT_INFO', message: /^portal/ }, portal);
  }
  assert.throws(() => parseNetrootArg('iscsi:[fd00::1::3260:0:iqn.2009-06.dracut:t'), { code: 'E_NETROOT_ARG', message: /unterminated/ });
  assert.throws(() => parseNetrootArg('iscsi:[]::3260:0:iqn.2009-06.dracut:t'), { code: 'E_NETROOT_ARG', message: /server is missing/ });
  assert.throws(() => parseNetrootArg('iscsi:::3260:0:iqn.2009-06.dracut:t'), { code: 'E_NETROOT_ARG', message: /server is missing/ });
});

test('init.sh agrees with parseNetrootArg at the edges: credentials, "@" in a target, LUN 16383, ports 0 and 65536', { skip: skipBusybox }, () => {
  const accepted = [
    'netroot=iscsi:10.0.0.1::3260:0:tgt@a:b:c:d',
    'netroot=iscsi:u:p@srv::3260:0:tgt',
    'netroot=iscsi:10.0.0.1::3260:7fff:iqn.2009-06.dracut:t',
    'netroot=iscsi:[fd00::1]::3260:1:x@y:z:w:v',
    'netroot=iscsi:10.0.0.1::65535:0:iqn.2009-06.dracut:t',
  ];
  for (const line of accepted) {
    const ts = parseNetrootArg(line);
    const sh = runParse(line);
    assert.ok(sh.ok, `${line}: ${sh.vars['nr_err']}`);
    assert.deepEqual(
      [sh.vars['nr_portal'], sh.vars['nr_port'], sh.vars['nr_lun'], sh.vars['nr_target'], sh.vars['nr_chap_user'] || undefined],
      [ts.server, String(ts.port), String(ts.lun), ts.targetIqn, ts.username],
      line,
    );
  }
  for (const line of ['netroot=iscsi:10.0.0.1::0:0:iqn.2009-06.dracut:t', 'netroot=iscsi:10.0.0.1::65536:0:iqn.2009-06.dracut:t']) {
    assert.throws(() => parseNetrootArg(line), { code: 'E_NETROOT_ARG' }, line);
    assert.equal(runParse(line).ok, false, line);
  }
});

// Edges found by mutation testing (docs/mutation.md): every field's exact message, the anchors of
// each pattern (nothing before or after), the IPv6 length limit and all-numeric portals.
test('validateNodeBootInfo: exact messages, patterns anchored at both ends, IPv6 portal of 45 characters', () => {
  const message = (patch: Partial<NodeBootInfo>) => {
    try {
      validateNodeBootInfo({ ...node, ...patch });
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };
  assert.equal(message({ hostname: 'bad host' }), 'hostname "bad host" is not a host name');
  assert.equal(message({ initiatorIqn: 'iqn.bogus' }), 'initiatorIqn "iqn.bogus" is not an iSCSI name');
  assert.equal(message({ targetIqn: 'iqn.bogus' }), 'targetIqn "iqn.bogus" is not an iSCSI name');
  assert.equal(message({ portal: '1.2.3' }), 'portal "1.2.3" is not an address or host name', 'all-numeric, not IPv4');
  assert.equal(message({ portal: '1.2.3.4.5' }), 'portal "1.2.3.4.5" is not an address or host name');
  assert.equal(message({ portal: 'x1.2.3' }), 'accepted', 'a host name may contain digits and dots');
  assert.equal(message({ portal: '1.2.3x' }), 'accepted');
  assert.equal(message({ port: 0 }), 'port 0 is not a TCP port');
  assert.equal(message({ lun: 16384 }), 'lun 16384 is outside 0..16383');
  assert.equal(message({ rootUuid: `x${node.rootUuid}` }), `rootUuid "x${node.rootUuid}" is not a file system UUID`);
  assert.equal(message({ rootUuid: `${node.rootUuid}x` }), `rootUuid "${node.rootUuid}x" is not a file system UUID`);
  assert.equal(message({ interface: 'eth0; reboot' }), 'interface "eth0; reboot" is not an interface name');
  const mac = '52:54:00:aa:00:01';
  assert.equal(message({ interface: 'bootnet', mac: `x${mac}` }), `mac "x${mac}" is not a lower-case MAC address`);
  assert.equal(message({ interface: 'bootnet', mac: `${mac}x` }), `mac "${mac}x" is not a lower-case MAC address`);
  assert.equal(message({ interface: undefined, mac }), 'mac needs an interface name to bind');
  for (const kernelName of ['eth0', 'eth10']) {
    assert.equal(
      message({ interface: kernelName, mac }),
      `interface "${kernelName}" is a kernel name; a name bound to a MAC must not look like eth<N> (use e.g. bootnet)`,
    );
  }
  for (const fine of ['xeth0', 'eth0x', 'bootnet']) assert.equal(message({ interface: fine, mac }), 'accepted', fine);
  assert.equal(message({ chapSecret: undefined }), 'chapUser/chapSecret must be given together');
  assert.equal(message({ chapUser: 'a b' }), 'chapUser must be 1..255 printable ASCII characters without spaces');
  assert.equal(message({ chapSecret: 'a b' }), 'chapSecret must be 1..255 printable ASCII characters without spaces');
  assert.equal(message({ chapUser: '', chapSecret: '' }), 'accepted', 'empty user and secret: no CHAP');
  // IPv6: at most 45 characters (the longest textual form, with an embedded IPv4 address)
  const v6 = '0000:0000:0000:0000:0000:ffff:192.168.100.200';
  assert.equal(v6.length, 45);
  assert.equal(message({ portal: v6 }), 'accepted');
  assert.equal(message({ portal: `0${v6}` }), `portal "0${v6}" is not an address or host name`);
  assert.throws(() => kernelArgs(node, { console: 'tty S0' }), { message: 'console "tty S0" is not a console device' });
  assert.throws(() => formatLun(16384), { message: 'lun 16384 is outside 0..16383' });
});

test('parseNetrootArg: exact messages at each refusal; surrounding blanks; LUN fields', () => {
  const message = (arg: string) => {
    try {
      parseNetrootArg(arg);
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };
  assert.equal(parseNetrootArg('  iscsi:10.0.0.1::3260:1:iqn.2009-06.dracut:t  ').server, '10.0.0.1', 'blanks around one value');
  assert.equal(parseNetrootArg('ro netroot=iscsi:10.0.0.1::3260:1:iqn.2009-06.dracut:t quiet').lun, 1, 'among other words');
  assert.equal(parseNetrootArg('netroot=iscsi:10.0.0.1::3260:1:iqn.2009-06.dracut:t').lun, 1, 'one word with its key');
  assert.match(message('ro quiet'), /no netroot= or root=iscsi: argument/);
  assert.match(message('nfs:10.0.0.1:/x'), /"nfs:10.0.0.1:\/x" is not an iscsi: root path/);
  assert.match(message('iscsi:[2001:db8::1::3260:1:iqn.2009-06.dracut:t'), /unterminated \[IPv6\] server/);
  assert.match(message('iscsi:noserverfields'), /missing fields after the server/);
  assert.match(message('iscsi:10.0.0.1::3260:1:2:3:4:iqn.2009-06.dracut:t'), /unexpected fields between port and target/);
  assert.match(message('iscsi:10.0.0.1::3260'), /target name is missing/);
  assert.match(message('iscsi:10.0.0.1:17:3260:1:iqn.2009-06.dracut:t'), /protocol "17" is not TCP \(6\)/);
  assert.match(message('iscsi:10.0.0.1::32a0:1:iqn.2009-06.dracut:t'), /bad port "32a0"/);
  assert.match(message('iscsi:::3260:1:iqn.2009-06.dracut:t'), /server is missing/);
  assert.match(message('iscsi:10.0.0.1::3260:1g:iqn.2009-06.dracut:t'), /bad LUN "1g"/);
  assert.match(message('iscsi:10.0.0.1::3260:0001-0001:iqn.2009-06.dracut:t'), /multi-level LUN "0001-0001" is not supported/);
  assert.match(message('iscsi:10.0.0.1::3260:0101:iqn.2009-06.dracut:t'), /LUN "0101" addresses a bus other than 0/);
  assert.match(message('iscsi:10.0.0.1::3260:8001:iqn.2009-06.dracut:t'), /LUN "8001" uses an addressing method we do not support/);
  assert.equal(parseNetrootArg('iscsi:10.0.0.1::3260:0001-0000-0000-0000:iqn.2009-06.dracut:t').lun, 1, 'four levels, the rest zero');
  assert.equal(parseNetrootArg('iscsi:10.0.0.1::3260:4100:iqn.2009-06.dracut:t').lun, 256, 'flat space addressing');
  assert.match(message('iscsi:10.0.0.1::3260:0-0-0-0-0:iqn.2009-06.dracut:t'), /bad LUN/);
  // a server name that contains "iqn." is not where the target starts
  assert.equal(parseNetrootArg('iscsi:iqn.example::3260:1:iqn.2009-06.dracut:t').server, 'iqn.example');
});

// Edges of parseNetrootArg and parseLun found by mutation testing (docs/mutation/initrd-kernel-args.md):
// an empty credential part, "@" with no ":" after it, the target prefix right after the server, a
// LUN field that is not hex, a message's 40-character excerpt, the whole result object.
test('parseNetrootArg edges: "@" at the start or without ":" after it, ":iqn." right after the server, anchored LUN levels, exact messages', () => {
  const message = (arg: string) => {
    try {
      parseNetrootArg(arg);
    } catch (e) {
      return `${(e as { code?: string }).code}: ${(e as Error).message}`;
    }
    return 'accepted';
  };
  // the whole object: only the credential fields that were given are present
  assert.deepEqual(parseNetrootArg('iscsi:u@srv::3260:0:tgt'), { username: 'u', server: 'srv', protocol: '', port: 3260, lun: 0, targetIqn: 'tgt' });
  assert.deepEqual(parseNetrootArg('iscsi:u:p:iu@srv:6:1:2:tgt'), {
    username: 'u',
    password: 'p',
    inUsername: 'iu',
    server: 'srv',
    protocol: '6',
    port: 1,
    lun: 2,
    targetIqn: 'tgt',
  });
  // "@" first: empty credentials, none kept, the server after it
  assert.deepEqual(parseNetrootArg('iscsi:@srv::3260:0:tgt'), { server: 'srv', protocol: '', port: 3260, lun: 0, targetIqn: 'tgt' });
  // "@" with no ":" after it belongs to the target name
  assert.deepEqual(parseNetrootArg('iscsi:10.0.0.1::3260:0:tgt@x'), { server: '10.0.0.1', protocol: '', port: 3260, lun: 0, targetIqn: 'tgt@x' });
  // ":iqn." straight after the server leaves no port or LUN field: refused, not read by RFC 4173 positions
  assert.equal(message('iscsi:srv::iqn.2009-06.dracut:t'), 'E_NETROOT_ARG: netroot: unexpected fields between port and target');
  // without a prefixed name a LUN field alone is no target, even when it is not a LUN
  assert.equal(message('iscsi:10.0.0.1::3260:zz'), 'E_NETROOT_ARG: netroot: target name is missing');
  assert.equal(message('iscsi:10.0.0.1::3260:1:'), 'E_NETROOT_ARG: netroot: target name is missing');
  // port range message (five digits pass the syntax check)
  assert.equal(message('iscsi:10.0.0.1::0:1:iqn.2009-06.dracut:t'), 'E_NETROOT_ARG: netroot: port 0 is out of range');
  assert.equal(message('iscsi:10.0.0.1::65536:1:iqn.2009-06.dracut:t'), 'E_NETROOT_ARG: netroot: port 65536 is out of range');
  // a value that is not a root path is quoted up to 40 characters
  const long = `nfs:${'x'.repeat(60)}`;
  assert.equal(message(long), `E_NETROOT_ARG: netroot: ${JSON.stringify(long.slice(0, 40))} is not an iscsi: root path`);
  // "netroot=" / "root=" only as the start of the value; otherwise the value itself is judged
  const prefixed = 'xnetroot=iscsi:10.0.0.1::3260:1:iqn.2009-06.dracut:t';
  assert.equal(message(prefixed), `E_NETROOT_ARG: netroot: ${JSON.stringify(prefixed.slice(0, 40))} is not an iscsi: root path`);
  assert.equal(parseNetrootArg('root=iscsi:10.0.0.9::3260:2:iqn.2009-06.dracut:r').lun, 2, 'one root= word');
  assert.equal(message('root=/dev/sda1'), 'E_NETROOT_ARG: netroot: no netroot= or root=iscsi: argument');
  assert.equal(message('credentials'), 'E_NETROOT_ARG: netroot: "credentials" is not an iscsi: root path');
  assert.equal(message('iscsi:a:b:c:d:e@srv::3260:0:tgt'), 'E_NETROOT_ARG: netroot: too many fields in the credentials');
  // LUN levels: one to four hex digits each, anchored at both ends
  for (const bad of ['g1', '1g', 'x0001', '00001', '1-g0', '1-0g', '1--0', '-1']) {
    assert.equal(message(`iscsi:10.0.0.1::3260:${bad}:iqn.2009-06.dracut:t`), `E_NETROOT_ARG: bad LUN ${JSON.stringify(bad)}`, bad);
  }
  assert.equal(parseLun('1-0-0-0'), 1);
  assert.equal(parseLun('F'), 15);
  assert.equal(parseLun('00Ff'), 255);
});
