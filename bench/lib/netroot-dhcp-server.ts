// The netroot side of bench:dhcp, run as its own process inside the server namespace:
//   node --import tsx bench/lib/netroot-dhcp-server.ts <iface> <serverIp> <poolStart> <poolEnd> <mask> <leaseFile>
// Production settings: SO_BINDTODEVICE on <iface>, no known hosts (every perfdhcp client is an
// unknown MAC), the pool enabled, durable lease journal ON (an ACK leaves after its fdatasync).
// Prints "ready" once listening; SIGTERM stops it cleanly.
import { DhcpServer } from '../../src/dhcp/index.js';

const [iface, serverIp, start, end, subnetMask, leaseFile] = process.argv.slice(2);
if (!iface || !serverIp || !start || !end || !subnetMask || !leaseFile) {
  console.error('usage: netroot-dhcp-server.ts <iface> <serverIp> <poolStart> <poolEnd> <mask> <leaseFile>');
  process.exit(2);
}
const server = new DhcpServer({
  interfaces: [iface],
  serverIp,
  decider: { answer: async () => null },
  pool: { start, end, leaseSeconds: 3600, subnetMask },
  leaseFile,
});
await server.start();
console.log('ready');
const shutdown = (): void => {
  void server.stop().then(() => {
    console.log(`metrics ${JSON.stringify(server.metrics)}`);
    process.exit(0);
  });
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
