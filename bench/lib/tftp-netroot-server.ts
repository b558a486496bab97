// netroot's TFTP server as a standalone process for the benchmark: serves ROOT on IP:69.
//   node --import tsx bench/lib/tftp-netroot-server.ts ROOT IP [cache=on|off]
// cache=on (the default) is the server as shipped: rootResolver's in-memory file cache
// (src/tftp/file-cache.ts, 256 MiB LRU, files up to 64 MiB). cache=off passes rootResolver a
// FileCache with maxFileBytes 0, which caches no non-empty file: every transfer reads the file
// from disk with positional reads (1 MiB read-ahead, src/tftp/transfer.ts), as a file over the
// cache's size limit always is. There is no config setting for this; the FileCache option is the
// only switch.
import { FileCache, TftpServer, rootResolver } from '../../src/tftp/index.js';
import { linkStats } from '../../src/tftp/link.js';

const [root, host, cacheArg = 'cache=on'] = process.argv.slice(2);
if (!root || !host || !/^cache=(on|off)$/.test(cacheArg)) {
  console.error('usage: tftp-netroot-server ROOT IP [cache=on|off]');
  process.exit(2);
}
const cache = new FileCache(cacheArg === 'cache=off' ? { maxFileBytes: 0 } : {});
// The load client is one address standing for a rack of nodes: the per-client and total limits
// (tftp.maxTransfersPerClient, maxBufferedBytes) are raised so they measure serving, not refusal.
// link 'native': the bench measures the fast path, and fails rather than measure the dgram fallback.
const s = new TftpServer({
  host,
  port: 69,
  resolver: rootResolver(root, cache),
  maxTransfers: 4096,
  maxTransfersPerClient: 4096,
  maxBufferedBytes: 2 ** 30,
  link: 'native',
});
await s.start();
console.log(`tftp ready (file cache maxBytes ${cache.maxBytes}, maxFileBytes ${cache.maxFileBytes})`);
process.on('SIGTERM', () => {
  console.error(JSON.stringify({ ...s.metrics, link: linkStats() }));
  void s.stop().then(() => process.exit(0));
});
