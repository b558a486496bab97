// Network-boot routes. Everything per node is rendered on request from the database: there is no
// sync step that rewrites files for every node.
//   GET /boot/ipxe/<mac>, /boot/ipxe?mac=<mac>   the node's iPXE script
//   GET /boot/pxelinux.cfg/01-<mac>               pxelinux config (lpxelinux over HTTP)
//   GET /boot/grub/grub.cfg-01-<mac>              GRUB config
//   GET /boot/files/<path>                        kernels, initrds, iPXE binaries (Range supported)
//   GET /boot/node/<host>/overlay.img             the node's initrd overlay (holds its CHAP secret:
//                                                 served to the node itself only)
import { Router, type Request } from 'express';
import type { Booter } from '../boot/booter.js';
import type { Repos } from '../store/index.js';
import { resolveUnderRoot } from '../boot/files.js';
import { normalizeMac } from '../net/address.js';
import { UserError } from '../errors.js';
import { remoteIPv4, onlyToHostItself } from './remote.js';

function macParam(raw: unknown): string {
  const mac = typeof raw === 'string' ? normalizeMac(raw.replace(/^01-/, '')) : null;
  if (!mac) throw new UserError('E_BAD_MAC', `not a MAC address: ${JSON.stringify(raw)}`);
  return mac;
}

export function bootRoutes(repos: Repos, booter: Booter, bootRoot: string, stateDir: string): Router {
  const r = Router();

  /** A known node's script may carry its CHAP secret: only the node (or the frontend) gets it. */
  const guard = async (req: Request, mac: string) => {
    const host = await repos.hosts.byMac(mac);
    if (!host) return;
    const from = remoteIPv4(req);
    onlyToHostItself(host, from, 'boot configuration');
  };

  const script = (render: (mac: string) => Promise<string>, param: (req: Request) => unknown) => async (req: Request, res: import('express').Response) => {
    const mac = macParam(param(req));
    await guard(req, mac);
    res.type('text/plain').set('Cache-Control', 'no-store').send(await render(mac));
  };

  r.get('/boot/ipxe/:mac', script((m) => booter.ipxeScript(m), (req) => req.params['mac']));
  r.get('/boot/ipxe', script((m) => booter.ipxeScript(m), (req) => req.query['mac']));
  r.get('/boot/pxelinux.cfg/:name', script((m) => booter.pxelinuxConfig(m), (req) => req.params['name']));
  r.get('/boot/grub/:name', script((m) => booter.grubConfig(m), (req) => String(req.params['name']).replace(/^grub\.cfg-/, '')));

  r.get('/boot/files/*path', async (req, res) => {
    const parts = (req.params as { path?: string[] }).path ?? [];
    const { path } = await resolveUnderRoot(bootRoot, parts.join('/'));
    // sendFile streams with Range/HEAD support; dotfiles are allowed because the path is already confined.
    await new Promise<void>((resolve, reject) => res.sendFile(path, { dotfiles: 'allow', acceptRanges: true, cacheControl: false }, (e) => (e && !res.headersSent ? reject(e) : resolve())));
  });

  r.get('/boot/node/:host/overlay.img', async (req, res) => {
    const host = await repos.hosts.get(req.params.host);
    const rec = host ? await repos.boot.get(host.name) : null;
    if (!host || !rec?.overlay) throw new UserError('E_NOT_FOUND', `no overlay for ${JSON.stringify(req.params.host)}`);
    const from = remoteIPv4(req);
    onlyToHostItself(host, from, 'the overlay');
    const { path } = await resolveUnderRoot(stateDir, rec.overlay);
    res.set('Cache-Control', 'no-store');
    await new Promise<void>((resolve, reject) => res.sendFile(path, { dotfiles: 'allow', acceptRanges: true, cacheControl: false }, (e) => (e && !res.headersSent ? reject(e) : resolve())));
  });

  return r;
}
