// The TFTP transfer's log line (issue #15): 'tftp sent' names the host and MAC the database gives
// the client's address (src/app/who-is.ts over a real store), beside the address and the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TftpServer, rootResolver } from '../../src/tftp/index.js';
import { openStore } from '../../src/store/index.js';
import { whoIs } from '../../src/app/who-is.js';
import { captureLogs } from '../helpers/log-capture.js';
import { tempStateDir } from '../helpers/tmp.js';
import { tftpClients } from './clients.js';
import { waitFor } from '../helpers/wait.js';

test('tftp sent: one info line with host, MAC, client address, file and bytes; unknown clients get host null', async () => {
  const dir = tempStateDir('nrt-tftp-log-');
  const root = join(dir, 'root');
  mkdirSync(root);
  mkdirSync(join(dir, 'out'));
  writeFileSync(join(root, 'ipxe.efi'), Buffer.alloc(5000, 7));
  const store = openStore(join(dir, 'state'));
  const { logger, records: lines, pretty } = captureLogs('info');
  const server = new TftpServer({ host: '127.0.0.1', port: 0, resolver: rootResolver(root), identify: whoIs(store), logger });
  await server.start();
  try {
    const { curl } = tftpClients(join(dir, 'out'), () => server.port());
    assert.equal((await curl('ipxe.efi')).length, 5000);
    await waitFor(() => lines.some((r) => r['msg'] === 'tftp sent'), { what: 'the tftp sent line' });
    const anon = lines.find((r) => r['msg'] === 'tftp sent')!;
    assert.equal(anon['host'], null);
    assert.equal(anon['mac'], null);
    await store.hosts.add({
      name: 'compute-0-0',
      appliance: 'compute-diskless',
      rack: 0,
      rank: 0,
      interfaces: [{ mac: '52:54:00:aa:00:01', ip: '127.0.0.1', subnet: '127.0.0.0/8', device: 'eth0' }],
    });
    assert.equal((await curl('ipxe.efi')).length, 5000);
    await waitFor(() => lines.filter((r) => r['msg'] === 'tftp sent').length === 2, { what: 'the tftp sent line' });
    const known = lines.filter((r) => r['msg'] === 'tftp sent')[1]!;
    assert.deepEqual(
      [known['level'], known['host'], known['mac'], known['client'], known['file'], known['bytes']],
      ['info', 'compute-0-0', '52:54:00:aa:00:01', '127.0.0.1', 'ipxe.efi', 5000],
    );
    // The pretty line keeps 'tftp sent', the file and the address on one line (netboot.test.ts greps it).
    const sent = pretty.filter((l) => l.includes(' tftp sent '));
    assert.equal(sent.length, 2, pretty.join('\n'));
    assert.match(sent[1]!, /^\S+ INFO tftp sent host="compute-0-0" mac="52:54:00:aa:00:01" client="127\.0\.0\.1" file="ipxe\.efi" bytes=5000 /);
  } finally {
    await server.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
