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
//     removed when a unit makes missing ones on the node's first boot (Debian: the drop-in below
//     runs ssh-keygen -A; EL: sshd-keygen@.service), and kept with a warning line otherwise; the
//     node's own keys then live on its own volume.
//   - no munge key baked into the image (Debian's munge makes one at install time: every node would
//     share it, and the root tarball is served over HTTP); munge.service and slurmd.service are not
//     enabled in the image (they would fail on every node without a key and a controller): the
//     slurm-client role enables them, and `netroot sync users` delivers the cluster's key;
//   - iscsid runs from boot (enabled in sysinit.target): it is what logs the root's session back
//     in after a connection fault — the kernel asks it over netlink, which socket activation never
//     sees, and Debian only socket-activates it, so a fault would end in "session recovery timed
//     out" and I/O errors on the root.
//   - iscsid.conf defaults carry the root session's timers (no NOP-Out pings, replacement_timeout
//     86400): the root's iscsid takes the initrd's session over with these defaults (it has no
//     node record for it), so the initrd's rd.iscsi.param values would otherwise be reset to 120 s.
// Every path is resolved inside the root (rootfs.inRoot): a symlink in an imported root never
// leads a write or a removal to the frontend's own files.
import { existsSync, lstatSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RootFacts } from './root-check.js';
import { existsIn, inRoot } from './rootfs.js';

async function put(root: string, rel: string, text: string, mode = 0o644): Promise<void> {
  const dir = inRoot(root, dirname(rel));
  await mkdir(dir, { recursive: true });
  await writeFile(inRoot(root, rel), text, { mode });
}

/** Removes `rel` itself (a symlink is removed, not its target). */
async function remove(root: string, rel: string): Promise<void> {
  await rm(join(inRoot(root, dirname(rel)), rel.split('/').pop()!), { force: true });
}

/** Some unit makes missing SSH host keys on the node's first boot. */
function keysMadeAtBoot(root: string, debian: boolean): boolean {
  if (debian) return existsIn(root, 'lib/systemd/system/ssh.service') || existsIn(root, 'usr/lib/systemd/system/ssh.service');
  return existsIn(root, 'usr/lib/systemd/system/sshd-keygen@.service') || existsIn(root, 'lib/systemd/system/sshd-keygen@.service');
}

export async function applyDisklessFixups(root: string, facts: RootFacts): Promise<string[]> {
  const done: string[] = [];
  const debian = facts.packageTool === 'dpkg';
  const nameFile = 'etc/iscsi/initiatorname.iscsi';
  if (existsIn(root, nameFile)) {
    if (debian) await put(root, nameFile, 'GenerateName=yes\n', 0o600);
    else await remove(root, nameFile);
    done.push(`${nameFile}: no initiator name shared by every node`);
  }
  if (existsIn(root, 'etc/hostname')) {
    await remove(root, 'etc/hostname');
    done.push("etc/hostname: removed (the build host's name)");
  }
  const startupChecks = debian && existsIn(root, 'lib/open-iscsi/startup-checks.sh') ? '/lib/open-iscsi/startup-checks.sh' : null;
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
  done.push(
    `etc/dracut.conf.d/90-netroot.conf: +${facts.dracutAdd.join(' +')}${facts.dracutOmit.map((m) => ` -${m}`).join('')}${startupChecks ? `, installs ${startupChecks}` : ''}`,
  );
  if (debian && existsIn(root, 'lib/open-iscsi/logout-all.sh')) {
    await put(root, 'etc/iscsi/iscsi.initramfs', '# netroot: the root file system is on iSCSI (set up by the initrd)\n');
    const def = 'etc/default/open-iscsi';
    const old = existsIn(root, def) ? await readFile(inRoot(root, def), 'utf8') : '';
    const kept = old
      .split('\n')
      .filter((l) => !/^\s*ISCSI_ROOT_KEEP_ALL_SESSIONS_AT_SHUTDOWN=/.test(l))
      .join('\n')
      .trimEnd();
    await put(root, def, `${kept}${kept ? '\n' : ''}ISCSI_ROOT_KEEP_ALL_SESSIONS_AT_SHUTDOWN=1\n`);
    done.push('open-iscsi: keeps the root session at shutdown (iscsi.initramfs, ISCSI_ROOT_KEEP_ALL_SESSIONS_AT_SHUTDOWN=1)');
  }
  const iscsidUnit = ['lib/systemd/system/iscsid.service', 'usr/lib/systemd/system/iscsid.service'].find((u) => existsIn(root, u));
  const wants = 'etc/systemd/system/sysinit.target.wants/iscsid.service';
  if (iscsidUnit && !existsIn(root, wants)) {
    await mkdir(inRoot(root, dirname(wants)), { recursive: true });
    await symlink(`/${iscsidUnit}`, join(inRoot(root, dirname(wants)), 'iscsid.service')).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e; // a link already there (even a dangling one) is the operator's choice
    });
    done.push('iscsid.service: enabled at boot (it recovers the root session after a connection fault)');
  }
  const conf = 'etc/iscsi/iscsid.conf';
  if (existsIn(root, conf)) {
    const want: Record<string, string> = {
      'node.session.timeo.replacement_timeout': '86400',
      'node.conn[0].timeo.noop_out_interval': '0',
      'node.conn[0].timeo.noop_out_timeout': '0',
    };
    const lines = (await readFile(inRoot(root, conf), 'utf8')).replace(/\n+$/, '').split('\n');
    const seen = new Set<string>();
    // Each key's (first) active line is rewritten; a key with none gets a line at the end.
    const out = lines.map((l) => {
      const key = /^\s*([^#\s=]+)\s*=/.exec(l)?.[1];
      if (key === undefined || !(key in want) || seen.has(key)) return l;
      seen.add(key);
      return `${key} = ${want[key]}`;
    });
    for (const [k, v] of Object.entries(want)) if (!seen.has(k)) out.push(`${k} = ${v}`);
    await put(root, conf, out.join('\n').replace(/\n*$/, '\n'));
    done.push("etc/iscsi/iscsid.conf: root session timers (replacement_timeout 86400, no NOP-Out pings) for the root iscsid's takeover");
  }
  // Debian's packages make host keys at install time; EL's sshd-keygen units make missing ones at
  // boot already. Debian's ssh.service checks its config (sshd -t) first, which fails without keys,
  // so the drop-in replaces ExecStartPre with: make missing keys, then the same check.
  const sshDir = inRoot(root, 'etc/ssh');
  const hostKeys = existsSync(sshDir) ? (await readdir(sshDir)).filter((n) => /^ssh_host_.*_key(\.pub)?$/.test(n)) : [];
  if (hostKeys.length && keysMadeAtBoot(root, debian)) {
    for (const k of hostKeys) await rm(join(sshDir, k), { force: true });
    if (debian) {
      await put(
        root,
        'etc/systemd/system/ssh.service.d/netroot-host-keys.conf',
        '# netroot: each node makes its own SSH host keys on its first boot (none are in the image).\n[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n',
      );
    }
    done.push(`etc/ssh: ${hostKeys.length} host key files removed; ${debian ? 'ssh.service' : 'sshd-keygen@.service'} makes the node's own on its first boot`);
  } else if (hostKeys.length) {
    done.push(`etc/ssh: WARNING ${hostKeys.length} host key files kept (no unit in the image makes missing ones): every node shares them`);
  }
  const mungeKey = 'etc/munge/munge.key';
  if (existsIn(root, mungeKey)) {
    await remove(root, mungeKey);
    done.push(`${mungeKey}: removed (no munge key shared by every node; the cluster's comes from netroot sync users)`);
  }
  // An enable link points at /lib/...: looked at itself (lstat), never followed.
  const wantsDir = inRoot(root, 'etc/systemd/system/multi-user.target.wants');
  const clusterUnits = ['munge.service', 'slurmd.service'].filter((u) => lstatSync(join(wantsDir, u), { throwIfNoEntry: false }) !== undefined);
  for (const u of clusterUnits) await remove(root, `etc/systemd/system/multi-user.target.wants/${u}`);
  if (clusterUnits.length) done.push(`${clusterUnits.join(', ')}: not enabled in the image (the slurm-client role enables them on its nodes)`);
  return done;
}
