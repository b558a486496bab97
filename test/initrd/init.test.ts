// /init (initrd-templates/init.sh) under busybox sh, as a library: syntax, command-line parsing
// from a fake /proc/cmdline, node.conf precedence, and robustness to what the kernel passes in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BUSYBOX, INIT_SH, runParse, skipBusybox } from './init-shell.js';

test('init.sh and udhcpc.script pass busybox sh -n', { skip: skipBusybox }, () => {
  for (const f of [INIT_SH, 'initrd-templates/udhcpc.script']) {
    const r = spawnSync(BUSYBOX ?? 'busybox', ['sh', '-n', f], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${f}: ${r.stderr}`);
  }
});

test('sourced outside PID 1, init.sh only defines functions', { skip: skipBusybox }, () => {
  const r = spawnSync(BUSYBOX ?? 'busybox', ['sh', '-c', '. "$1"; echo sourced; type parse_cmdline >/dev/null && echo has-parse', 'sh', INIT_SH], {
    encoding: 'utf8',
  });
  assert.equal(r.stdout, 'sourced\nhas-parse\n');
});

const DIAGNOSTIC =
  'BOOT_IMAGE=vmlinuz root=UUID=3f1c2b7e-9a5d-4c1b-8e2f-0123456789ab netroot=iscsi:10.1.1.1::3260:1:iqn.2026-11.org.netroot.frontend:compute-0-0.root ' +
  'rd.iscsi.initiator=iqn.2026-11.org.netroot:compute-0-0 ip=eth0:dhcp rd.neednet=1 console=ttyS0';

test('parses the command line netroot generates', { skip: skipBusybox }, () => {
  const r = runParse(DIAGNOSTIC);
  assert.ok(r.ok, r.vars['nr_err']);
  assert.deepEqual(
    [
      r.vars['nr_root'],
      r.vars['nr_portal'],
      r.vars['nr_port'],
      r.vars['nr_lun'],
      r.vars['nr_target'],
      r.vars['nr_initiator'],
      r.vars['nr_iface'],
      r.vars['nr_autoconf'],
    ],
    [
      'UUID=3f1c2b7e-9a5d-4c1b-8e2f-0123456789ab',
      '10.1.1.1',
      '3260',
      '1',
      'iqn.2026-11.org.netroot.frontend:compute-0-0.root',
      'iqn.2026-11.org.netroot:compute-0-0',
      'eth0',
      'dhcp',
    ],
  );
  assert.deepEqual([r.vars['nr_rw'], r.vars['nr_init'], r.vars['nr_timeout'], r.vars['nr_shell'], r.vars['nr_mode']], ['0', '/sbin/init', '60', '0', '']);
});

test('ip= forms, rw/ro, init=, rd.timeout=, rd.shell, rootfstype=, netroot.mode=install', { skip: skipBusybox }, () => {
  const s = runParse(
    `${DIAGNOSTIC} ip=10.1.255.254::10.1.1.1:255.255.0.0:compute-0-0:eth1:none rw init=/lib/systemd/systemd rd.timeout=5 rd.shell rootfstype=ext4 netroot.mode=install`,
  );
  assert.ok(s.ok, s.vars['nr_err']);
  assert.deepEqual(
    [s.vars['nr_autoconf'], s.vars['nr_addr'], s.vars['nr_gw'], s.vars['nr_mask'], s.vars['nr_hostname'], s.vars['nr_iface']],
    ['static', '10.1.255.254', '10.1.1.1', '255.255.0.0', 'compute-0-0', 'eth1'],
  );
  assert.deepEqual(
    [s.vars['nr_rw'], s.vars['nr_init'], s.vars['nr_timeout'], s.vars['nr_shell'], s.vars['nr_rootfstype'], s.vars['nr_mode']],
    ['1', '/lib/systemd/systemd', '5', '1', 'ext4', 'install'],
  );
  const d = runParse('ip=dhcp root=LABEL=root');
  assert.ok(d.ok);
  assert.deepEqual([d.vars['nr_autoconf'], d.vars['nr_iface'], d.vars['nr_root']], ['dhcp', '', 'LABEL=root']);
  const lastWins = runParse('rw ro');
  assert.equal(lastWins.vars['nr_rw'], '0');
});

test('root=iscsi: names the whole LUN as root and wins over netroot=', { skip: skipBusybox }, () => {
  const r = runParse('netroot=iscsi:10.0.0.1::3260:1:iqn.2009-06.dracut:other root=iscsi:10.0.0.9::3261:2:iqn.2009-06.dracut:root');
  assert.ok(r.ok, r.vars['nr_err']);
  assert.deepEqual(
    [r.vars['nr_root'], r.vars['nr_portal'], r.vars['nr_port'], r.vars['nr_lun'], r.vars['nr_target']],
    ['iscsi', '10.0.0.9', '3261', '2', 'iqn.2009-06.dracut:root'],
  );
});

test('the command line wins over node.conf, except CHAP which only node.conf gives', { skip: skipBusybox }, () => {
  const conf = [
    "NETROOT_HOSTNAME='compute-0-0'",
    "NETROOT_INITIATOR='iqn.2026-11.org.netroot:from-conf'",
    "NETROOT_TARGET='iqn.2026-11.org.netroot:conf-target'",
    "NETROOT_PORTAL='10.9.9.9'",
    "NETROOT_PORT='3262'",
    "NETROOT_LUN='4'",
    "NETROOT_ROOT_UUID='11111111-2222-4333-8444-555555555555'",
    "NETROOT_INTERFACE='eth0'",
    "NETROOT_CHAP_USER='conf-user'",
    "NETROOT_CHAP_SECRET='conf secret'",
  ].join('\n');
  const onlyConf = runParse('quiet', { nodeConf: conf });
  assert.ok(onlyConf.ok);
  assert.deepEqual(
    [
      onlyConf.vars['nr_portal'],
      onlyConf.vars['nr_port'],
      onlyConf.vars['nr_target'],
      onlyConf.vars['nr_root'],
      onlyConf.vars['nr_chap_user'],
      onlyConf.vars['nr_chap_secret'],
    ],
    ['10.9.9.9', '3262', 'iqn.2026-11.org.netroot:conf-target', 'UUID=11111111-2222-4333-8444-555555555555', 'conf-user', 'conf secret'],
  );
  const both = runParse(
    'netroot=iscsi:u:cmdline-pass@10.1.1.1::3260:1:iqn.2026-11.org.netroot:cmd-target rd.iscsi.initiator=iqn.2026-11.org.netroot:from-cmd',
    { nodeConf: conf },
  );
  assert.ok(both.ok);
  assert.deepEqual(
    [both.vars['nr_portal'], both.vars['nr_target'], both.vars['nr_initiator'], both.vars['nr_chap_user'], both.vars['nr_chap_secret']],
    ['10.1.1.1', 'iqn.2026-11.org.netroot:cmd-target', 'iqn.2026-11.org.netroot:from-cmd', 'conf-user', 'conf secret'],
  );
  // Without node.conf credentials, dracut-style ones on the command line are used, with a warning.
  const url = runParse('netroot=iscsi:u:cmdline-pass@10.1.1.1::3260:1:iqn.2026-11.org.netroot:cmd-target');
  assert.deepEqual([url.vars['nr_chap_user'], url.vars['nr_chap_secret']], ['u', 'cmdline-pass']);
  assert.match(url.stdout, /warning: CHAP credentials on the kernel command line/);
});

test('variables the kernel passes to init as environment cannot pre-set state', { skip: skipBusybox }, () => {
  // Unknown name=value boot arguments become init's environment: nr_reset must clear them.
  const r = runParse('quiet', {
    env: { nr_target: 'iqn.evil:x', nr_chap_secret: 'planted', nr_init: '/bin/sh', netroot: 'iscsi:6.6.6.6::1:0:iqn.evil:y', nr_timeout: '1' },
  });
  assert.ok(r.ok);
  assert.deepEqual(
    [r.vars['nr_target'], r.vars['nr_chap_secret'], r.vars['nr_init'], r.vars['nr_portal'], r.vars['nr_timeout']],
    ['', '', '/sbin/init', '', '60'],
  );
});

test('globs and odd words on the command line are inert', { skip: skipBusybox }, () => {
  const r = runParse('* /* $(reboot) `reboot` netroot=iscsi:10.0.0.1::3260:0:iqn.2009-06.dracut:t');
  assert.ok(r.ok, r.vars['nr_err']);
  assert.equal(r.vars['nr_target'], 'iqn.2009-06.dracut:t');
});

test('bad arguments fail with a message', { skip: skipBusybox }, () => {
  const cases: Array<[string, RegExp]> = [
    ['netroot=nfs:1.2.3.4:/x', /not an iscsi: root path/],
    ['netroot=iscsi:10.0.0.1', /fields missing/],
    ['netroot=iscsi:10.0.0.1::3260:no-lun-field', /target name is missing/],
    ['netroot=iscsi:10.0.0.1:17:3260:1:iqn.2009-06.dracut:t', /not TCP/],
    ['netroot=iscsi:10.0.0.1::32x0:1:iqn.2009-06.dracut:t', /bad port/],
    ['netroot=iscsi:10.0.0.1::70000:1:iqn.2009-06.dracut:t', /out of range/],
    ['netroot=iscsi:10.0.0.1::3260:zz:iqn.2009-06.dracut:t', /bad LUN/],
    ['ip=bootp', /unsupported/],
    ['ip=eth0:bootp', /unsupported autoconf/],
    ['ip=::::host:eth0:none', /static address needs/],
    ['rd.timeout=soon', /rd.timeout/],
  ];
  for (const [line, re] of cases) {
    const r = runParse(line);
    assert.equal(r.ok, false, line);
    assert.match(r.vars['nr_err'] ?? '', re, line);
  }
});

test('check_config names what is missing', { skip: skipBusybox }, () => {
  const run = (line: string) =>
    spawnSync(
      BUSYBOX ?? 'busybox',
      [
        'sh',
        '-c',
        '. "$1"; nr_reset; printf "%s" "$2" > "$3"; parse_cmdline "$3" && check_config; echo "$nr_err"',
        'sh',
        INIT_SH,
        line,
        `/tmp/netroot-cc-${process.pid}`,
      ],
      { encoding: 'utf8' },
    ).stdout.trim();
  assert.equal(run('quiet'), 'no initiator name (rd.iscsi.initiator= or node.conf)');
  assert.equal(run('rd.iscsi.initiator=iqn.2026-11.org.netroot:n'), 'no iSCSI target (netroot= or node.conf)');
  assert.equal(
    run('rd.iscsi.initiator=iqn.2026-11.org.netroot:n netroot=iscsi:10.0.0.1::3260:1:iqn.2009-06.dracut:t'),
    'no root file system (root= or node.conf)',
  );
  assert.equal(run(DIAGNOSTIC), '');
  spawnSync('rm', ['-f', `/tmp/netroot-cc-${process.pid}`]);
});
