// Single-use install tokens. A token is minted when a node fetches its kickstart (which carries
// it to %post), bound to that host and to the address that fetched it, valid for a limited time,
// and consumed by netroot.installComplete. Only its SHA-256 is stored; the token itself exists in
// the kickstart the node received and nowhere else. Issue time, expiry and use are stamped and
// judged by the DATABASE's clock (store TokenRepo), never this process's: with several servers on
// one PostgreSQL, a token minted by one is honoured by another for exactly its lifetime, even when
// either server's own clock is off.
import { createHash, randomBytes } from 'node:crypto';
import type { Repos, Store } from '../store/index.js';
import { UserError } from '../errors.js';

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class InstallTokens {
  constructor(
    private readonly store: Store,
    private readonly ttlSeconds = 4 * 3600,
  ) {}

  /** A new token for host, bound to address; earlier unused ones of the host stop working. */
  async issue(host: string, address: string): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.store.tokens.issue(host, tokenHash(token), address, this.ttlSeconds);
    return token;
  }

  /**
   * Mints a token, hands it to `use` (which renders the kickstart that carries it) and records it
   * only once `use` succeeded: a failed render leaves the host's earlier token valid and no row.
   * `also` writes what goes with the token (the kickstart's state change and event) in the same
   * transaction: all of it or nothing, one commit.
   */
  async issueAfter<T>(host: string, address: string, use: (token: string) => Promise<T>, also?: (tx: Repos) => Promise<void>): Promise<T> {
    const token = randomBytes(32).toString('base64url');
    const r = await use(token);
    await this.store.transaction(async (tx) => {
      await tx.tokens.issue(host, tokenHash(token), address, this.ttlSeconds);
      await also?.(tx);
    });
    return r;
  }

  /**
   * Who the token belongs to, if it is valid for a call from remoteAddress: known, unexpired, unused
   * (every netroot.* method refuses a spent token) and bound to that address. Each refusal says why
   * (the caller holds the token; saying "expired" leaks nothing) but never echoes the token.
   */
  async verify(token: unknown, remoteAddress: string, opts: { repos?: Repos } = {}): Promise<{ host: string; hash: string }> {
    if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{16,128}$/.test(token)) throw new UserError('E_TOKEN_INVALID', 'install token is not valid');
    const hash = tokenHash(token);
    const t = await (opts.repos ?? this.store).tokens.find(hash);
    if (!t) throw new UserError('E_TOKEN_INVALID', 'install token is not valid');
    if (t.expired) throw new UserError('E_TOKEN_EXPIRED', 'install token has expired: reinstall the node (netroot host set <host> boot=install)');
    if (t.usedAt) throw new UserError('E_TOKEN_USED', 'install token was already used');
    if (t.address !== remoteAddress) throw new UserError('E_TOKEN_ADDRESS', 'install token was issued to another address');
    return { host: t.host, hash };
  }
}
