// A storage node in one process, as the crash test needs it: an IscsiTarget plus the storage
// layer's EmbeddedBackend over it. On start it creates the volume if missing (idempotent) and
// reconciles the backend to the one desired export, exactly what a restarted frontend does.
// Configuration is one JSON argument: { port, volumesDir, volume, sizeBytes, spec: ExportSpec }.
// Prints `RECONCILED <json>` and `READY <port>`.
import { IscsiTarget } from '../../../src/iscsi/index.js';
import { silentLogger } from '../../../src/log/logger.js';
import { EmbeddedBackend } from '../../../src/storage/embedded.js';
import type { ExportSpec } from '../../../src/storage/spec.js';

interface Config {
  port?: number;
  volumesDir: string;
  volume: string;
  sizeBytes: number;
  spec: ExportSpec;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as Config;
const target = new IscsiTarget({ host: '127.0.0.1', port: cfg.port ?? 0, logger: silentLogger });
await target.start();
const backend = new EmbeddedBackend({ target, volumesDir: cfg.volumesDir, portal: '127.0.0.1', port: target.port });
await backend.createVolume({ name: cfg.volume, sizeBytes: cfg.sizeBytes });
const res = await backend.reconcile([cfg.spec]);
process.stdout.write(`RECONCILED ${JSON.stringify(res)}\n`);
process.stdout.write(`READY ${target.port}\n`);
const stop = (): void => {
  void target.stop().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
