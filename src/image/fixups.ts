// What a stock root needs to boot diskless from iSCSI, written into the root before its initrd
// is built and it is packed. Each fix-up is the smallest change to the distribution's own
// mechanism, and each returns a line that the build prints (so the operator sees what changed):
//   - no initiator name baked into the image: every node gets its own (the installer writes it
//     from the kickstart's `iscsiname`; Debian's startup check regenerates one on GenerateName=yes);
//   - no build host name (/etc/hostname): the node takes its name from DHCP or the installer;
//   - dracut.conf.d/90-netroot.conf: the modules and omissions the image's initrd was built with,
//     so a `dracut` run on the node itself reproduces a bootable initrd;
//   - Debian: iscsid.service's ExecStartPre (/lib/open-iscsi/startup-checks.sh) is not copied
//     into the initrd by dracut 059, so iscsid fails there ("Initiatorname required"): install it;
//   - Debian: open-iscsi keeps the root's session at shutdown (iscsi.initramfs marker +
//     ISCSI_ROOT_KEEP_ALL_SESSIONS_AT_SHUTDOWN=1) instead of logging out from under its own root;
//   - no SSH host keys baked into the image (every node would share them): the image's keys are
//     removed and sshd's unit makes missing ones (ssh-keygen -A) on the node's first boot; they
//     then live on the node's own volume.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RootFacts } from './root-check.js';

async function put(root: string, rel: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(join(root, rel)), { recursive: true });
  await writeFile(join(root, rel), text, { mode });
}

export async function applyDisklessFixups(root: string, facts: RootFacts): Promise<string[]> {
  const done: string[] = [];
  const debian = facts.packageTool === 'dpkg';
  const nameFile = 'etc/iscsi/initiatorname.iscsi';
  if (existsSync(join(root, nameFile))) {
    if (debian) await put(root, nameFile, 'GenerateName=yes\n', 0o600);
    else await rm(join(root, nameFile));
    done.push(`${nameFile}: no initiator name shared by every node`);
  }
  if (existsSync(join(root, 'etc/hostname'))) {
    await rm(join(root, 'etc/hostname'));
    done.push('etc/hostname: removed (the build host\'s name)');
  }
  const startupChecks = debian && existsSync(join(root, 'lib/open-iscsi/startup-checks.sh')) ? '/lib/open-iscsi/startup-checks.sh' : null;
  await put(
    root,
    'etc/dracut.conf.d/90-netroot.conf',
    [
      '# Written by netroot (image build/import): this image boots diskless from iSCSI.',
      'hostonly="no"',
      `add_dracutmodules+=" ${facts.dracutAdd.join(' ')} "`,
      ...(facts.dracutOmit.length ? [`omit_dracutmodules+=" ${facts.dracutOmit.join(' ')} "`] : []),
      ...(startupChecks ? [`install_items+=" ${startupChecks} "`] : []),
      '',
    ].join('\n'),
  );
  done.push(`etc/dracut.conf.d/90-netroot.conf: +${facts.dracutAdd.join(' +')}${facts.dracutOmit.map((m) => ` -${m}`).join('')}${startupChecks ? `, installs ${startupChecks}` : ''}`);
  if (debian && existsSync(join(root, 'lib/open-iscsi/logout-all.sh'))) {
    await put(root, 'etc/iscsi/iscsi.initramfs', '# netroot: the root file system is on iSCSI (set up by the initrd)\n');
    const def = 'etc/default/open-iscsi';
    const old = existsSync(join(root, def)) ? await readFile(join(root, def), 'utf8') : '';
    const kept = old.split('\n').filter((l) => !/^\s*ISCSI_ROOT_KEEP_ALL_SESSIONS_AT_SHUTDOWN=/.test(l)).join('\n').trimEnd();
    await put(root, def, `${kept}${kept ? '\n' : ''}ISCSI_ROOT_KEEP_ALL_SESSIONS_AT_SHUTDOWN=1\n`);
    done.push('open-iscsi: keeps the root session at shutdown (iscsi.initramfs, ISCSI_ROOT_KEEP_ALL_SESSIONS_AT_SHUTDOWN=1)');
  }
  // Debian's packages make host keys at install time; EL's sshd-keygen units make missing ones at
  // boot already. Debian's ssh.service checks its config (sshd -t) first, which fails without keys,
  // so the drop-in replaces ExecStartPre with: make missing keys, then the same check.
  const hostKeys = existsSync(join(root, 'etc/ssh')) ? (await readdir(join(root, 'etc/ssh'))).filter((n) => /^ssh_host_.*_key(\.pub)?$/.test(n)) : [];
  if (debian && hostKeys.length && existsSync(join(root, 'lib/systemd/system/ssh.service'))) {
    for (const k of hostKeys) await rm(join(root, 'etc/ssh', k));
    await put(
      root,
      'etc/systemd/system/ssh.service.d/netroot-host-keys.conf',
      '# netroot: each node makes its own SSH host keys on its first boot (none are in the image).\n[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n',
    );
    done.push(`etc/ssh: ${hostKeys.length} host key files removed; ssh.service makes the node's own on its first boot`);
  }
  return done;
}
