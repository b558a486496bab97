// The dashboard's files (issue #18 point 3): built from web/ by `npm run build:web` into dist/web
// (scripts/build-web.mjs) and served from there, so the page needs no CDN and works offline.
//   GET /          index.html
//   GET /web/<f>   the compiled modules, the style sheet
// Every answer carries a strict Content-Security-Policy: scripts, styles, images and connections
// from this origin only, no inline script or style, no framing, no plugins, no <base>, forms only
// to this origin. Files are revalidated on each load (`no-cache` + Last-Modified/ETag: the names
// carry no content hash, so a long max-age would keep an old module after an upgrade).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type Response } from 'express';

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

function secure(res: Response): void {
  res.set({
    'Content-Security-Policy': DASHBOARD_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cache-Control': 'no-cache',
  });
}

/** dist/web of the repository, from src/http (tsx) or dist/src/http (built); null when not built. */
export function defaultWebRoot(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [join(here, '../../dist/web'), join(here, '../../web')])
    if (existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'app'))) return dir;
  return null;
}

export function staticRoutes(webRoot: string | null = defaultWebRoot()): Router {
  const r = Router();
  if (webRoot === null) {
    r.get('/', (_req, res) => {
      secure(res);
      res.status(503).type('text/plain').send('The dashboard is not built: run `npm run build:web` (it writes dist/web).\n');
    });
    return r;
  }
  const files = express.static(webRoot, { index: false, redirect: false, dotfiles: 'deny', fallthrough: true, setHeaders: secure });
  r.get('/', (_req, res, next) => {
    secure(res);
    res.sendFile(join(webRoot, 'index.html'), { headers: { 'Content-Type': 'text/html; charset=utf-8' } }, (e) => e && next(e));
  });
  r.use('/web', (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    files(req, res, next);
  });
  return r;
}
