// `netroot storage nodes|volumes|show|reconcile|serve`.
// nodes/volumes/show/reconcile ask the running frontend (REST API /api/v1/storage/...); when it is
// not running they compute the same reports in this process (volumes on disk, no live exports;
// reconcile then reaches only remote storage nodes — the local target is reconciled by the
// frontend when it starts). `serve` runs a storage node (src/app/storage-node.ts).
import { readOperatorFile } from '../operator-file.js';
import type { CliContext } from './context.js';
import { parse, needPositional, noExtra, intFlag, badVerb } from './args.js';
import { json, table } from './output.js';
import { ApiClient, FrontendDown } from './api-client.js';
import { UserError } from '../errors.js';
import { buildStorage, LOCAL_NODE, targetSettings } from '../app/storage.js';
import { createStorageNode } from '../app/storage-node.js';
import { nodesReport, showReport, volumesReport, type NodeReport, type ShowReport, type StorageView, type VolumeReport } from '../discovery/storage-report.js';
import { reconcileStorage, type NodeReconcile } from '../discovery/plugins/iscsi-allocation.js';
import { join } from 'node:path';
import { untilStopSignal } from './until-signal.js';
import { LOG_FLAG_OPTIONS, LOG_FLAGS_USAGE, logChoice } from './log-flags.js';

export const USAGE = `netroot storage nodes [--json]
       netroot storage volumes [--json]
       netroot storage show HOST|VOLUME [--json]
       netroot storage reconcile [--json]
       netroot storage serve --portal ADDR [--listen HOST:PORT] [--iscsi HOST:PORT] [--backend embedded|tgt|rbd]
                             [--volumes DIR] [--limit-gib N] [--token-file FILE]   (token: file or env NETROOT_STORAGE_TOKEN)
                             ${LOG_FLAGS_USAGE}`;

const GiB = 2 ** 30;
const gib = (b: number | null) => (b === null ? null : (b / GiB).toFixed(b % GiB === 0 ? 0 : 2));

async function viaFrontend<T>(ctx: CliContext, api: () => Promise<T>, local: (v: StorageView) => Promise<T>): Promise<T> {
  try {
    return await api();
  } catch (e) {
    if (!(e instanceof FrontendDown)) throw e;
    return local(buildStorage(ctx.config, ctx.logger(), { offline: true }));
  }
}

function hostPort(v: string, flag: string): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535 || m[1] === '') throw new UserError('E_USAGE', `--${flag}: expected HOST:PORT, got ${JSON.stringify(v)}`);
  return { host: m[1]!, port: Number(m[2]) };
}

export async function storageCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const api = () => new ApiClient(ctx.config);
  switch (verb) {
    case 'nodes': {
      const { values: v, positionals: p } = parse(rest, {}, USAGE);
      noExtra(p, 0, USAGE);
      const nodes = await viaFrontend<NodeReport[]>(
        ctx,
        () => api().call('GET', '/api/v1/storage/nodes'),
        (s) => nodesReport(s),
      );
      if (v.json) ctx.io.out(json(nodes));
      else
        ctx.io.out(
          table(
            ['NODE', 'KIND', 'URL', 'STATE', 'TOTAL GiB', 'FREE GiB', 'VOLUMES'],
            nodes.map((n) => [n.name, n.kind, n.url, n.up ? 'up' : `down: ${n.error}`, gib(n.totalBytes), gib(n.freeBytes), n.volumes]),
          ),
        );
      return nodes.every((n) => n.up) ? 0 : 1;
    }
    case 'volumes': {
      const { values: v, positionals: p } = parse(rest, {}, USAGE);
      noExtra(p, 0, USAGE);
      type VolumePage = { items: VolumeReport[]; next: string | null; errors: Array<{ node: string; error: string }> };
      const r = await viaFrontend(
        ctx,
        async () => {
          const all = await api().listAll<VolumeReport, VolumePage>('/api/v1/storage/volumes');
          return { volumes: all.items, errors: all.last.errors };
        },
        (s) => volumesReport(ctx.store, s),
      );
      if (v.json) ctx.io.out(json(r.volumes));
      else
        ctx.io.out(
          table(
            ['NODE', 'VOLUME', 'HOST', 'SIZE GiB', 'USED GiB', 'TARGET', 'EXPORTED'],
            r.volumes.map((x) => [
              x.node,
              x.volume,
              x.host,
              gib(x.sizeBytes),
              gib(x.allocatedBytes),
              x.target,
              x.exported === null ? '?' : x.exported ? 'yes' : 'no',
            ]),
          ),
        );
      for (const e of r.errors) ctx.io.err(`netroot: storage node ${e.node}: ${e.error}\n`);
      return r.errors.length ? 1 : 0;
    }
    case 'show': {
      const { values: v, positionals: p } = parse(rest, {}, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      const name = p[0]!;
      const r = await viaFrontend<ShowReport>(
        ctx,
        () => api().call('GET', `/api/v1/storage/volumes/${encodeURIComponent(name)}`),
        (s) => showReport(ctx.store, s, name),
      );
      if (v.json) {
        ctx.io.out(json(r));
        return 0;
      }
      const b = r.backend;
      const lines: Array<[string, string | number | null | undefined]> = [
        ['host', r.host],
        ['node', r.node],
        ['volume', r.volume],
        ['size', b ? `${b.sizeBytes} bytes (${gib(b.sizeBytes)} GiB), ${b.allocatedBytes} allocated` : 'missing on the storage node'],
        ['target', r.record?.target ?? b?.target],
        ['initiator', r.record?.initiator ?? b?.initiator],
        ['portal', r.record ? `${r.record.portal}:${r.record.port}` : b?.portal ? `${b.portal}:${b.port}` : null],
        ['lun', r.record?.lun ?? b?.lun],
        ['chap user', r.record?.chapUser ?? b?.chapUser],
        ['chap secret', r.record ? 'set (netroot attr list shows host attributes)' : null],
        ['exported', b?.exported === null || b === null ? '?' : b.exported ? 'yes' : 'no'],
      ];
      ctx.io.out(lines.map(([k, val]) => `${k.padEnd(12)} ${val ?? '-'}`).join('\n') + '\n');
      return 0;
    }
    case 'reconcile': {
      const { values: v, positionals: p } = parse(rest, {}, USAGE);
      noExtra(p, 0, USAGE);
      const r = await viaFrontend<NodeReconcile[]>(
        ctx,
        () => api().call('POST', '/api/v1/storage/reconcile'),
        async (s) => {
          const out = await reconcileStorage(ctx.store, s.nodes, ctx.logger(), { skip: [LOCAL_NODE] });
          if (s.nodes.some((n) => n.name === LOCAL_NODE))
            out.unshift({ node: LOCAL_NODE, error: 'the frontend is not running; it reconciles its own target when it starts' });
          return out;
        },
      );
      if (v.json) ctx.io.out(json(r));
      else
        ctx.io.out(
          r
            .map((x) =>
              x.result
                ? `${x.node}: ${x.result.added.length} added, ${x.result.updated.length} updated, ${x.result.removed.length} removed`
                : `${x.node}: ${x.error}`,
            )
            .join('\n') + '\n',
        );
      return r.some((x) => x.error) ? 1 : 0;
    }
    case 'serve':
      return serve(ctx, rest);
    default:
      throw badVerb('storage', verb, USAGE);
  }
}

async function serve(ctx: CliContext, argv: string[]): Promise<number> {
  const { values: v, positionals: p } = parse(
    argv,
    {
      portal: { type: 'string' },
      listen: { type: 'string' },
      iscsi: { type: 'string' },
      backend: { type: 'string' },
      volumes: { type: 'string' },
      'limit-gib': { type: 'string' },
      'token-file': { type: 'string' },
      ...LOG_FLAG_OPTIONS,
    },
    USAGE,
  );
  noExtra(p, 0, USAGE);
  const log = logChoice(v);
  if (!v.portal) throw new UserError('E_USAGE', `--portal: the address nodes use to reach this storage node is required\nusage: ${USAGE}`);
  const backend = v.backend ?? 'embedded';
  if (backend !== 'embedded' && backend !== 'tgt' && backend !== 'rbd')
    throw new UserError('E_USAGE', `--backend must be embedded, tgt or rbd (its pool, conf and keyring: storage.rbd.*), got ${JSON.stringify(backend)}`);
  // The token never comes from argv (other users see a command line in ps).
  const token = (v['token-file'] ? readOperatorFile(v['token-file'], '--token-file') : (ctx.env['NETROOT_STORAGE_TOKEN'] ?? '')).trim();
  if (!token) throw new UserError('E_STORAGE_TOKEN', 'give the storage token with --token-file FILE or env NETROOT_STORAGE_TOKEN');
  const listen = hostPort(v.listen ?? '0.0.0.0:3270', 'listen');
  const iscsi = hostPort(v.iscsi ?? '0.0.0.0:3260', 'iscsi');
  const limit = intFlag(v['limit-gib'], 'limit-gib', 1);
  const node = createStorageNode({
    backend,
    token,
    httpHost: listen.host,
    httpPort: listen.port,
    iscsiHost: iscsi.host,
    iscsiPort: iscsi.port,
    portal: v.portal,
    volumesDir: v.volumes ?? join(ctx.config.stateDir, 'volumes'),
    limitBytes: limit === undefined ? undefined : limit * 2 ** 30,
    rbd: { ...ctx.config.storage.rbd, stateDir: join(ctx.config.stateDir, 'rbd') },
    tgtControlPort: ctx.config.storage.tgtControlPort,
    logger: ctx.logger(log),
    target: targetSettings(ctx.config.iscsi),
  });
  await node.start();
  const stopSignal = untilStopSignal(); // before the start line: a SIGTERM right after it still stops cleanly
  ctx.io.out(
    `netroot: storage node serving http on ${listen.host}:${node.httpPort()}, iscsi (${backend}) on ${iscsi.host}:${node.iscsiPort()}, portal ${v.portal}\n`,
  );
  await stopSignal;
  await node.stop();
  return 0;
}
