// The REST API's bearer token: http.apiToken from the configuration, or a random one kept in
// <stateDir>/api-token (mode 0600 from its creation, in a state directory created 0700) that the
// CLI on the frontend reads.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/index.js';

export function apiTokenPath(config: Config): string {
  return join(config.stateDir, 'api-token');
}

export function ensureApiToken(config: Config): string {
  if (config.http.apiToken) return config.http.apiToken;
  const file = apiTokenPath(config);
  try {
    const t = readFileSync(file, 'utf8').trim();
    if (t.length >= 32) return t;
  } catch {
    /* created below */
  }
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  // 'wx' fails if another process created it meanwhile; then read theirs.
  try {
    writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
    return token;
  } catch {
    return readFileSync(file, 'utf8').trim();
  }
}

/** The token if it exists (CLI side): never creates one. */
export function readApiToken(config: Config): string | null {
  if (config.http.apiToken) return config.http.apiToken;
  try {
    return readFileSync(apiTokenPath(config), 'utf8').trim() || null;
  } catch {
    return null;
  }
}
