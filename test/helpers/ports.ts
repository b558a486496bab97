// Free loopback ports for tests that start servers: one helper per protocol instead of a copy per file.
import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';

/** A UDP port free on 127.0.0.1 right now (bound, then released). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A TCP port free on 127.0.0.1 right now (listened on, then closed): a server can take it, or a client finds nothing there. */
export async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
