// The sync-client role through the shipped graph: off unless sync_users is on; on, the node's own
// kickstart carries its fetch secret (and only its own), the frontend's public key, the client
// download and the systemd units; a preview carries a placeholder, never the secret. The sync.conf
// it writes is read back by the shell exactly as the client sources it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { openStore } from '../../src/store/index.js';
import { KickstartService } from '../../src/boot/kickstart.js';
import { SyncKeys } from '../../src/sync/index.js';
import { tempStateDir } from '../helpers/tmp.js';
import { roleFile } from '../roles/role-files.js';

test('sync-client: off by default; on, the node gets its own secret, the public key, the client and the units; a preview never the secret', async () => {
  const dir = tempStateDir('nrt-sync-role-');
  const config = loadConfig({ env: {}, overrides: { stateDir: dir, 'sync.pollSeconds': '45' } });
  const store = openStore(dir);
  try {
    const add = (name: string, rank: number, ip: string) =>
      store.hosts.add({
        name,
        appliance: 'compute',
        rack: 0,
        rank,
        interfaces: [{ mac: `52:54:00:aa:00:0${rank + 1}`, ip, subnet: '10.1.0.0/16', device: 'eth0' }],
      });
    const a = await add('compute-0-0', 0, '10.1.255.254');
    const b = await add('compute-0-1', 1, '10.1.255.253');
    const ks = new KickstartService(store, config);
    await store.attributes.set({ scope: 'global', target: '', name: 'sync_users', value: 'yes' });
    const first = await ks.render(a);
    assert.match(first, /NETROOT_SYNC_PUBKEY='PREVIEW-no-sync-key-yet'/);
    assert.equal(existsSync(join(dir, 'sync')), false, 'a preview creates no key');
    await store.attributes.set({ scope: 'global', target: '', name: 'sync_users', value: 'no' });
    assert.doesNotMatch(await ks.render(a, 'TOKEN-A'), /netroot-sync/, 'off unless sync_users is on');
    await store.attributes.set({ scope: 'global', target: '', name: 'sync_users', value: 'yes' });
    const keys = new SyncKeys(dir);
    const text = await ks.render(a, 'TOKEN-A');
    assert.match(text, /# node: sync-client\n/);
    assert.ok(text.includes(`NETROOT_SYNC_SECRET='${keys.nodeSecret('compute-0-0')}'`));
    assert.ok(!text.includes(keys.nodeSecret('compute-0-1')), "never another node's secret");
    assert.ok(text.includes(`NETROOT_SYNC_PUBKEY='${keys.publicKeySpki()}'`));
    assert.match(text, /NETROOT_SYNC_URL='http:\/\/10\.1\.1\.1:8080'/);
    assert.match(text, /curl -fsS -o \/usr\/local\/sbin\/netroot-sync\.new 'http:\/\/10\.1\.1\.1:8080\/sync\/v1\/client\.sh'/);
    assert.match(text, /OnUnitActiveSec=45\n/);
    assert.match(text, /chmod 0600 '\/etc\/netroot\/sync\.conf'/);
    assert.match(text, /^umask 077$/m, 'sync.conf is never readable by others, not even before its chmod');
    assert.ok(text.indexOf('# node: sync-client') < text.indexOf('# node: local-install'), 'before the install-complete %post');

    const preview = await ks.render(a);
    assert.ok(!preview.includes(keys.nodeSecret('compute-0-0')), 'a preview carries no secret');
    assert.match(preview, /NETROOT_SYNC_SECRET='PREVIEW-sync-secret-is-sent-only-to-the-node'/);
    assert.ok((await ks.render(b, 'TOKEN-B')).includes(keys.nodeSecret('compute-0-1')));

    // The sync.conf heredoc, sourced by sh as the client does.
    const conf = /cat > '\/etc\/netroot\/sync\.conf' << '([A-Z_0-9]+)'\n([\s\S]*?)\n\1\n/.exec(text);
    assert.ok(conf, 'sync.conf is written by a quoted heredoc');
    const vars = execFileSync(
      'sh',
      ['-c', `${conf[2]}\nprintf '%s|%s|%s|%s\\n' "$NETROOT_SYNC_SECRET" "$NETROOT_SYNC_MIN_UID" "$NETROOT_SYNC_MAX_UID" "$NETROOT_SYNC_MAX_BYTES"`],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(vars, `${keys.nodeSecret('compute-0-0')}|1000|59999|8388608\n`);

    // The report helper (test/sync/report-client.test.ts runs it) reaches the node byte for byte, 0755.
    const helper = /cat > '\/usr\/local\/sbin\/netroot-report' << '([A-Z_0-9]+)'\n([\s\S]*?)\n\1\n/.exec(text);
    assert.ok(helper, 'netroot-report is written by a quoted heredoc');
    assert.equal(`${helper[2]}\n`, roleFile('sync', 'sync-client', '/usr/local/sbin/netroot-report'));
    assert.match(text, /chmod 0755 '\/usr\/local\/sbin\/netroot-report'/);
    // ...and runs at every boot (the CPUs and memory for slurm.conf), after a clone's first boot has
    // put its own secret in sync.conf and before slurmd asks for slurm.conf.
    const unit = /cat > '\/etc\/systemd\/system\/netroot-report\.service' << '([A-Z_0-9]+)'\n([\s\S]*?)\n\1\n/.exec(text);
    assert.ok(unit, 'netroot-report.service is written');
    assert.match(unit[2]!, /^After=network-online\.target netroot-firstboot\.service$/m);
    assert.match(unit[2]!, /^Before=slurmd\.service$/m);
    assert.match(unit[2]!, /^ExecStart=\/usr\/local\/sbin\/netroot-report booted$/m);
    assert.match(text, /ln -sf \/etc\/systemd\/system\/netroot-report\.service \/etc\/systemd\/system\/multi-user\.target\.wants\/netroot-report\.service/);

    // A golden clone of compute-0-0 that became compute-0-1: its first-boot sections carry its own
    // secret (only its own), and running them on the inherited sync.conf puts that secret in it, 0600.
    const fb = await ks.firstboot(b);
    assert.ok(fb.includes(keys.nodeSecret('compute-0-1')), "the clone's own secret");
    assert.ok(!fb.includes(keys.nodeSecret('compute-0-0')), "never another node's secret");
    const root = join(dir, 'clone');
    mkdirSync(join(root, 'etc', 'netroot'), { recursive: true });
    writeFileSync(join(root, 'etc', 'netroot', 'sync.conf'), `${conf[2]}\n`, { mode: 0o600 });
    execFileSync('sh', ['-c', fb.replaceAll('/etc/netroot/', `${root}/etc/netroot/`)], { encoding: 'utf8' });
    const cloneConf = join(root, 'etc', 'netroot', 'sync.conf');
    assert.equal(statSync(cloneConf).mode & 0o777, 0o600);
    const cloneVars = execFileSync('sh', ['-c', `. ${cloneConf}\nprintf '%s|%s\\n' "$NETROOT_SYNC_SECRET" "$NETROOT_SYNC_PUBKEY"`], { encoding: 'utf8' });
    assert.equal(cloneVars, `${keys.nodeSecret('compute-0-1')}|${keys.publicKeySpki()}\n`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
