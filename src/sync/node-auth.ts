// Who is fetching: the node is found by the address the request came from (as /install/kickstart
// finds it), then the secret it presents (`Authorization: Bearer <secret>`) is compared in constant
// time with the one derived for that host (keys.ts nodeSecret). So a node's secret works only from
// that node's own address, and a node that knows it learns nothing about another's.
// The answer says only "no credential" (401) or "refused" (403); the reason is for the log.
// `nodeBySecret` is the same check for a secret that came another way (netroot.reportStatus's
// `sync:<secret>` credential, src/app/netroot-methods.ts).
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Repos } from '../store/index.js';
import type { SyncKeys } from './keys.js';

export type NodeAuth = { ok: true; host: string } | { ok: false; status: 401 | 403; reason: string };

const BEARER = /^Bearer ([A-Za-z0-9_-]{16,128})$/;

/** Equal strings, compared in time that depends only on their lengths' digest, not on where they differ. */
function same(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

const SECRET = /^[A-Za-z0-9_-]{16,128}$/;

export async function authorizeNode(repos: Pick<Repos, 'hosts'>, keys: SyncKeys, from: string, authorization: string | undefined): Promise<NodeAuth> {
  if (authorization === undefined || authorization === '') return { ok: false, status: 401, reason: 'no credential' };
  const m = BEARER.exec(authorization);
  if (!m) return { ok: false, status: 403, reason: 'malformed credential' };
  return nodeBySecret(repos, keys, from, m[1]!);
}

/** The host whose derived secret `secret` is, if the host also has the address `from`. */
export async function nodeBySecret(repos: Pick<Repos, 'hosts'>, keys: SyncKeys, from: string, secret: string): Promise<NodeAuth> {
  if (!SECRET.test(secret)) return { ok: false, status: 403, reason: 'malformed credential' };
  const host = await repos.hosts.byIp(from);
  // The same work whether or not a host has this address: no timing difference between the two refusals.
  const expected = keys.nodeSecret(host?.name ?? `\0no host at ${from}`);
  const match = same(secret, expected);
  if (!host) return { ok: false, status: 403, reason: 'no host has this address' };
  if (!match) return { ok: false, status: 403, reason: `wrong secret for ${host.name}` };
  return { ok: true, host: host.name };
}
