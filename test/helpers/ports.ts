// Free loopback ports for tests that start servers: one UDP helper instead of a copy per file.
import { createSocket } from 'node:dgram';

/** A UDP port free on 127.0.0.1 right now (bound, then released). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
