// roles/cluster/nfs-home.xml: the kickstart a node gets carries the role's maps, its
// netroot-home-check script byte for byte and the unit enabled; the script, run for real with dash
// and bash's /dev/tcp against loopback ports, names the server, the port and why while nothing
// listens, once, then says when it answers and exits; bad options and maps are exit 2. automount on
// these maps with the server down, then back, is test/e2e/nfs-home.test.ts (a QEMU guest).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { openStore } from '../../src/store/index.js';
import { KickstartService } from '../../src/boot/kickstart.js';
import { tempStateDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { roleFile } from './role-files.js';

const SCRIPT = roleFile('cluster', 'nfs-home', '/usr/local/sbin/netroot-home-check');

async function listen(port = 0): Promise<Server> {
  const s = createServer((c) => c.destroy());
  await new Promise<void>((r) => s.listen(port, '127.0.0.1', () => r()));
  return s;
}
const portOf = (s: Server) => (s.address() as { port: number }).port;
const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

test('nfs-home: the kickstart carries the maps, netroot-home-check as shipped, and enables its unit', async () => {
  const dir = tempStateDir('nrt-nfs-role-');
  const store = openStore(dir);
  try {
    const config = loadConfig({ env: {}, overrides: { stateDir: dir } });
    const h = await store.hosts.add({
      name: 'compute-0-0',
      appliance: 'compute',
      rack: 0,
      rank: 0,
      interfaces: [{ mac: '52:54:00:aa:00:01', ip: '10.1.255.254', subnet: '10.1.0.0/16', device: 'eth0' }],
    });
    await store.attributes.set({ scope: 'global', target: '', name: 'nfs_home', value: 'true' });
    const text = await new KickstartService(store, config).render(h, 'TOKEN');
    assert.match(text, /\/home \/etc\/auto\.home --timeout=600 --negative-timeout=10/);
    const body = /cat > '\/usr\/local\/sbin\/netroot-home-check' << '([A-Z_0-9]+)'\n([\s\S]*?)\n\1\n/.exec(text);
    assert.ok(body, 'netroot-home-check is written by a quoted heredoc');
    assert.equal(`${body[2]}\n`, SCRIPT);
    assert.match(text, /chmod 0755 '\/usr\/local\/sbin\/netroot-home-check'/);
    assert.match(text, /^systemctl enable netroot-home-check\.service$/m);
    assert.match(text, /ExecStart=\/usr\/local\/sbin\/netroot-home-check\nSyslogIdentifier=netroot-home-check/);
    assert.match(text, /^Type=simple$/m, 'the check never delays the boot');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netroot-home-check: a server that answers → one notice, exit 0; one that does not → one warning naming it and why, then "answers again" when it listens', async () => {
  const dir = tempStateDir('nrt-nfs-check-');
  try {
    const script = join(dir, 'netroot-home-check');
    writeFileSync(script, SCRIPT, { mode: 0o755 });
    const map = (name: string, line: string) => {
      const p = join(dir, name);
      writeFileSync(p, `# written by netroot (role nfs-home)\n${line}\n`);
      return p;
    };
    const up = await listen();
    try {
      const r = spawnSync('dash', [script, '--map', map('up', `* -fstype=nfs4,rw,hard,proto=tcp,port=${portOf(up)} 127.0.0.1:/export/home/&`)], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, `<5>netroot-home-check: the NFS server 127.0.0.1 (port ${portOf(up)}) answers\n`);
    } finally {
      await close(up);
    }

    // Down: a port nobody listens on (taken, then freed), later listened on.
    const probe = await listen();
    const port = portOf(probe);
    await close(probe);
    const child = spawn('dash', [script, '--map', map('down', `* -fstype=nfs4,rw,port=${port},proto=tcp [127.0.0.1]:/export/home/&`), '--every', '1'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    await waitFor(() => err.includes('does not answer'), { what: () => `the warning: ${err}`, timeoutMs: 20_000 });
    const back = await listen(port);
    try {
      assert.equal(await exited, 0, err);
    } finally {
      await close(back);
    }
    assert.equal(
      err,
      `<4>netroot-home-check: the NFS server 127.0.0.1 (port ${port}) does not answer: Connection refused; /home stays empty until it does (autofs mounts a home at its first use after that)\n` +
        `<5>netroot-home-check: the NFS server 127.0.0.1 (port ${port}) answers again: /home mounts on first use\n`,
    );

    // Bad options and maps: exit 2, said why.
    const empty = map('empty', '');
    const noport = map('noport', '* -fstype=nfs4,rw :/export/home/&');
    const cases: Array<[string[], RegExp]> = [
      [['--every', '1s', '--map', noport], /whole seconds/],
      [['--connect-timeout', '-1', '--map', noport], /whole seconds/],
      [['--bogus', 'x'], /unknown option --bogus/],
      [['--map'], /--map needs a value/],
      [['--map', join(dir, 'absent')], /cannot read a map line from/],
      [['--map', empty], /cannot read a map line from/],
      [['--map', noport], /no server in/],
    ];
    for (const [args, why] of cases) {
      const r = spawnSync('dash', [script, ...args], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, why);
      assert.match(r.stderr, /^<3>netroot-home-check: /);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
