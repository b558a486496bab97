// netroot's TFTP server as a standalone process for the benchmark: serves ROOT on IP:69.
//   node --import tsx bench/lib/tftp-netroot-server.ts ROOT IP
import { TftpServer, rootResolver } from '../../src/tftp/index.js';
import { linkStats } from '../../src/tftp/link.js';

const [root, host] = process.argv.slice(2);
if (!root || !host) {
  console.error('usage: tftp-netroot-server ROOT IP');
  process.exit(2);
}
// The load client is one address standing for a rack of nodes: the per-client and total limits
// (tftp.maxTransfersPerClient, maxBufferedBytes) are raised so they measure serving, not refusal.
// link 'native': the bench measures the fast path, and fails rather than measure the dgram fallback.
const s = new TftpServer({
  host,
  port: 69,
  resolver: rootResolver(root),
  maxTransfers: 4096,
  maxTransfersPerClient: 4096,
  maxBufferedBytes: 2 ** 30,
  link: 'native',
});
await s.start();
console.log('tftp ready');
process.on('SIGTERM', () => {
  console.error(JSON.stringify({ ...s.metrics, link: linkStats() }));
  void s.stop().then(() => process.exit(0));
});
