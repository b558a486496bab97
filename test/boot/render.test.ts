import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderIpxe, renderPxelinux, renderGrub } from '../../src/boot/render.js';
import type { BootSpec } from '../../src/boot/spec.js';
import { firmwareOf, firstStageFile } from '../../src/boot/machine.js';
import { assertGolden } from '../helpers/golden.js';

const urls = { base: 'http://10.1.1.1:8080' };
const mac = '52:54:00:aa:00:01';
const specs: Record<string, BootSpec> = {
  install: {
    action: 'install',
    host: 'compute-0-0',
    mac,
    kernel: 'install/vmlinuz',
    initrds: [{ name: 'initrd.img', path: 'install/initrd.img' }],
    args: 'inst.ks=http://10.1.1.1:8080/install/kickstart/compute-0-0 ip=dhcp console=ttyS0',
  },
  os: {
    action: 'os',
    host: 'compute-0-0',
    mac,
    kernel: 'diskless/vmlinuz',
    initrds: [
      { name: 'initrd.img', path: 'diskless/initrd.img' },
      { name: 'overlay.img', path: 'http://10.1.1.1:8080/boot/node/compute-0-0/overlay.img' },
    ],
    args: 'root=UUID=0f1e2d3c-aaaa-bbbb-cccc-000000000001 netroot=iscsi:10.1.1.1::3260:0:iqn.2026-11.local.netroot:compute-0-0 rd.iscsi.initiator=iqn.2026-11.local.netroot:init:compute-0-0 ip=eth0:dhcp rd.neednet=1',
  },
  local: { action: 'local', host: 'compute-0-0', mac },
  sanboot: {
    action: 'sanboot',
    host: 'compute-0-0',
    mac,
    rootPath: 'iscsi:10.1.1.1::3260:0:iqn.2026-11.local.netroot:compute-0-0',
    initiatorIqn: 'iqn.2026-11.local.netroot:init:compute-0-0',
    chap: { user: 'compute-0-0', secret: 'Sx9kQ2mV7pLr4Tz' },
  },
  wait: { action: 'wait', host: null, mac },
};

for (const [name, spec] of Object.entries(specs)) {
  test(`iPXE script golden: ${name}`, () => assertGolden(`boot/ipxe-${name}.ipxe`, renderIpxe(spec, urls)));
  if (name !== 'wait') {
    test(`pxelinux golden: ${name}`, () => assertGolden(`boot/pxelinux-${name}.cfg`, renderPxelinux(spec, urls)));
    test(`GRUB golden: ${name}`, () => assertGolden(`boot/grub-${name}.cfg`, renderGrub(spec, urls)));
  }
}

test('UEFI quirk: every initrd is named on the kernel line (initrd=<name>)', () => {
  const s = renderIpxe(specs['os']!, urls);
  assert.match(s, /^kernel http:\/\/10\.1\.1\.1:8080\/boot\/files\/diskless\/vmlinuz initrd=initrd\.img initrd=overlay\.img root=UUID=/m);
  assert.match(s, /^initrd --name overlay\.img http:\/\/10\.1\.1\.1:8080\/boot\/node\/compute-0-0\/overlay\.img/m);
});

test('no value can inject a line or an iPXE expansion into a script', () => {
  const bad: BootSpec[] = [
    { ...(specs['install'] as Extract<BootSpec, { action: 'install' | 'os' }>), args: 'quiet\nshell' },
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an iPXE setting expansion a node could smuggle in
    { ...(specs['install'] as Extract<BootSpec, { action: 'install' | 'os' }>), args: 'x=${net0/mac}' },
    { ...(specs['install'] as Extract<BootSpec, { action: 'install' | 'os' }>), kernel: 'install/vm linuz' },
    { ...(specs['sanboot'] as Extract<BootSpec, { action: 'sanboot' }>), chap: { user: 'u', secret: 'zq9 zq9' } },
  ];
  for (const spec of bad) assert.throws(() => renderIpxe(spec, urls), { code: 'E_BOOT_UNSAFE_VALUE' });
  // the secret never appears in the error message
  try {
    renderIpxe(bad[3]!, urls);
  } catch (e) {
    assert.doesNotMatch((e as Error).message, /zq9/);
  }
});

test('first-stage file by RFC 4578 client architecture', () => {
  assert.equal(firstStageFile(firmwareOf(0), 'ipxe.efi'), 'undionly.kpxe');
  assert.equal(firstStageFile(firmwareOf(null), 'ipxe.efi'), 'undionly.kpxe');
  assert.equal(firstStageFile(firmwareOf(7), 'ipxe.efi'), 'ipxe.efi');
  assert.equal(firstStageFile(firmwareOf(9), 'snponly.efi'), 'snponly.efi');
  assert.equal(firstStageFile(firmwareOf(11), 'ipxe.efi'), 'ipxe-arm64.efi');
  assert.equal(firstStageFile(firmwareOf(6), 'ipxe.efi'), null);
  assert.equal(firstStageFile(firmwareOf(99), 'ipxe.efi'), null);
});
