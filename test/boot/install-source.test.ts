// The installer's boot line from a host's attributes (install_kernel/initrd/stage2/repo): defaults,
// what Anaconda needs for a liveimg install, and values refused by name before a command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installSource } from '../../src/boot/install-source.js';

const DEFAULTS = { kernel: 'install/vmlinuz', initrd: 'install/initrd.img' };

test('without attributes: the configured installer and no extra arguments', () => {
  assert.deepEqual(installSource({}, DEFAULTS), { ...DEFAULTS, args: '' });
});

test('a site with an EL tree: its pxeboot kernel and initrd, inst.stage2 and inst.repo on the boot line', () => {
  const s = installSource(
    {
      install_kernel: 'rocky9/images/pxeboot/vmlinuz',
      install_initrd: 'http://10.1.1.1/rocky/9/BaseOS/x86_64/os/images/pxeboot/initrd.img',
      install_stage2: 'http://10.1.1.1/rocky/9/BaseOS/x86_64/os',
      install_repo: 'nfs://10.1.1.1/export/rocky9',
    },
    DEFAULTS,
  );
  assert.equal(s.kernel, 'rocky9/images/pxeboot/vmlinuz');
  assert.equal(s.initrd, 'http://10.1.1.1/rocky/9/BaseOS/x86_64/os/images/pxeboot/initrd.img');
  assert.equal(s.args, 'inst.stage2=http://10.1.1.1/rocky/9/BaseOS/x86_64/os inst.repo=nfs://10.1.1.1/export/rocky9');
});

test('bad values are refused naming the attribute (E_INSTALL_SOURCE), never put on a command line', () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ install_stage2: 'http://host/a b' }, 'install_stage2'],
    [{ install_stage2: 'file:///etc/passwd' }, 'install_stage2'],
    [{ install_repo: 'http://host/x\ninit=/bin/sh' }, 'install_repo'],
    [{ install_kernel: '../../etc/shadow' }, 'install_kernel'],
    [{ install_kernel: '/boot/vmlinuz' }, 'install_kernel'],
    [{ install_initrd: 'ftp://host/initrd.img' }, 'install_initrd'],
    [{ install_initrd: 'a b' }, 'install_initrd'],
  ];
  for (const [attrs, name] of cases) {
    assert.throws(
      () => installSource(attrs, DEFAULTS),
      (e: unknown) => {
        const err = e as { code: string; where: string };
        assert.equal(err.code, 'E_INSTALL_SOURCE');
        assert.equal(err.where, name);
        return true;
      },
      JSON.stringify(attrs),
    );
  }
});
