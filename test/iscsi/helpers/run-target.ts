// Runs an IscsiTarget in its own process, for tests that kill it (crash safety), the
// conformance run and the benchmark. Configuration comes as one JSON argument:
//   { host, port, targets: TargetDefinition[], logLevel? }
// Prints `READY <port>` on stdout when listening; SIGTERM stops it cleanly.
import { IscsiTarget, type TargetDefinition } from '../../../src/iscsi/index.js';
import { createLogger, silentLogger, type Level } from '../../../src/log/logger.js';

interface Config {
  host?: string;
  port?: number;
  targets: TargetDefinition[];
  logLevel?: Level;
  metricsEveryMs?: number;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as Config;
const target = new IscsiTarget({
  host: cfg.host ?? '127.0.0.1',
  port: cfg.port ?? 0,
  logger: cfg.logLevel ? createLogger({ level: cfg.logLevel }) : silentLogger,
});
await target.start();
for (const t of cfg.targets ?? []) await target.addTarget(t);
process.stdout.write(`READY ${target.port}\n`);
if (cfg.metricsEveryMs) {
  setInterval(() => {
    process.stdout.write(`METRICS ${JSON.stringify({ ...target.metrics, rss: process.memoryUsage().rss })}\n`);
  }, cfg.metricsEveryMs).unref();
}
const stop = (): void => {
  void target.stop().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
