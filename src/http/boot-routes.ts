// Network-boot routes. Everything per node is rendered on request from the database: there is no
// sync step that rewrites files for every node.
//   GET /boot/ipxe/<mac>, /boot/ipxe?mac=<mac>   the node's iPXE script
//   GET /boot/pxelinux.cfg/01-<mac>               pxelinux config (lpxelinux over HTTP)
//   GET /boot/grub/grub.cfg-01-<mac>              GRUB config
//   GET /boot/files/<path>                        kernels, initrds, iPXE binaries (Range supported)
//   GET /boot/node/<host>/overlay.img             the node's initrd overlay (holds its CHAP secret:
//                                                 served to the node itself only)
import { Router, type Request, type Response } from 'express';
import type { Booter } from '../boot/booter.js';
import type { BootRecord, Host, Repos } from '../store/index.js';
import { resolveUnderRoot } from '../boot/files.js';
import { normalizeMac } from '../net/address.js';
import { UserError } from '../errors.js';
import { remoteIPv4, onlyToHostItself } from './remote.js';
import { silentLogger, type Logger } from '../log/logger.js';

function macParam(raw: unknown): string {
  const mac = typeof raw === 'string' ? normalizeMac(raw.replace(/^01-/, '')) : null;
  if (!mac) throw new UserError('E_BAD_MAC', `not a MAC address: ${JSON.stringify(raw)}`);
  return mac;
}

/**
 * The requests that stream a big file: the load shedder gives them their own, smaller share of the
 * slots (shed.ts). Matches the two file routes below; the router decides what exists.
 */
export function isBootFileRequest(req: { method: string; path: string }): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && (req.path.startsWith('/boot/files/') || /^\/boot\/node\/[^/]+\/overlay\.img$/.test(req.path));
}

// Streams a file already confined by resolveUnderRoot (so dotfiles are allowed), with Range and
// HEAD support from `send`. A Range no byte satisfies (`bytes=-0`, `bytes=5-2`, a start past the
// end) is the client's mistake: 416 with `Content-Range: bytes */<size>` (RFC 9110 §14.1.2,
// §15.5.17). A malformed Range is ignored and the whole file sent (§14.2 allows it).
async function sendConfined(res: Response, path: string, size: number): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    res.sendFile(path, { dotfiles: 'allow', acceptRanges: true, cacheControl: false }, (e) => {
      // Once bytes went out, or the client went away (ECONNABORTED), there is nobody to answer.
      if (!e || res.headersSent || (e as { code?: string }).code === 'ECONNABORTED') return resolve();
      if ((e as { status?: number }).status === 416) {
        res.setHeader('Content-Range', `bytes */${size}`);
        return reject(
          new UserError('E_RANGE_NOT_SATISFIABLE', `no byte of the file satisfies Range ${JSON.stringify(String(res.req.headers.range ?? '').slice(0, 60))}`),
        );
      }
      reject(e);
    }),
  );
}

/**
 * Logs (issue #15): one info line per boot script answered ('boot script': kind, host, mac, boot
 * action, from) and per overlay sent; boot files at debug (many per boot). Never the script's text.
 */
export function bootRoutes(
  repos: Repos,
  booter: Booter,
  bootRoot: string,
  stateDir: string,
  logger: Logger = silentLogger,
  /** Makes the recorded overlay file exist in stateDir (rebuilt from the database when another server wrote it). */
  ensureOverlay?: (host: Host, rec: BootRecord) => Promise<void>,
): Router {
  const r = Router();

  /** A known node's script may carry its CHAP secret: only the node (or the frontend) gets it. */
  const guard = async (req: Request, mac: string) => {
    const host = await repos.hosts.byMac(mac);
    if (!host) return null;
    const from = remoteIPv4(req);
    onlyToHostItself(host, from, 'boot configuration');
    return host;
  };

  type Kind = 'ipxe' | 'pxelinux' | 'grub';
  const script = (kind: Kind, render: (mac: string) => Promise<string>, param: (req: Request) => unknown) => async (req: Request, res: Response) => {
    const mac = macParam(param(req));
    const host = await guard(req, mac);
    const text = await render(mac);
    res.type('text/plain').set('Cache-Control', 'no-store').send(text);
    logger.info('boot script', { kind, host: host?.name ?? null, mac, action: host?.bootAction ?? null, from: remoteIPv4(req) });
  };

  r.get(
    '/boot/ipxe/:mac',
    script(
      'ipxe',
      (m) => booter.ipxeScript(m),
      (req) => req.params['mac'],
    ),
  );
  r.get(
    '/boot/ipxe',
    script(
      'ipxe',
      (m) => booter.ipxeScript(m),
      (req) => req.query['mac'],
    ),
  );
  r.get(
    '/boot/pxelinux.cfg/:name',
    script(
      'pxelinux',
      (m) => booter.pxelinuxConfig(m),
      (req) => req.params['name'],
    ),
  );
  r.get(
    '/boot/grub/:name',
    script(
      'grub',
      (m) => booter.grubConfig(m),
      (req) => String(req.params['name']).replace(/^grub\.cfg-/, ''),
    ),
  );

  r.get('/boot/files/*path', async (req, res) => {
    const parts = (req.params as { path?: string[] }).path ?? [];
    const { path, size } = await resolveUnderRoot(bootRoot, parts.join('/'));
    logger.debug('boot file', { file: parts.join('/').slice(0, 200), bytes: size, range: req.headers.range?.slice(0, 60) ?? null, from: remoteIPv4(req) });
    await sendConfined(res, path, size);
  });

  r.get('/boot/node/:host/overlay.img', async (req, res) => {
    const host = await repos.hosts.get(req.params.host);
    const rec = host ? await repos.boot.get(host.name) : null;
    if (!host || !rec?.overlay) throw new UserError('E_NOT_FOUND', `no overlay for ${JSON.stringify(req.params.host)}`);
    const from = remoteIPv4(req);
    onlyToHostItself(host, from, 'the overlay');
    await ensureOverlay?.(host, rec);
    const { path, size } = await resolveUnderRoot(stateDir, rec.overlay);
    res.set('Cache-Control', 'no-store');
    logger.info('overlay sent', {
      host: host.name,
      mac: host.interfaces.find((i) => i.ip === from)?.mac ?? host.interfaces[0]?.mac ?? null,
      bytes: size,
      from,
    });
    await sendConfined(res, path, size);
  });

  return r;
}
