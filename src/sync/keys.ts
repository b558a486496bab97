// The frontend's sync keys, kept under <stateDir>/sync/ (directory 0700, files 0600), each created on
// first use: `signing-key.pem` (Ed25519, PKCS#8 PEM) signs payloads; `node-key` (32 random bytes)
// derives each node's fetch secret. Two processes creating one at once agree: the file is created
// with O_EXCL from a complete temporary (link(2)), so the loser reads the winner's key.
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { constants as C, existsSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { tempNameFor } from '../atomic-file.js';
import { NetrootError } from '../errors.js';

/** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4): 12 bytes, then the 32-byte key. */
export const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function syncDir(stateDir: string): string {
  return join(stateDir, 'sync');
}

/** Reads `path`, or creates it with `make()`'s bytes (0600) when absent; a concurrent creator's file wins. */
function readOrCreate(path: string, make: () => Buffer): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const tmp = tempNameFor(path);
  const fd = openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, make());
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    unlinkSync(tmp);
  }
  return readFileSync(path);
}

export class SyncKeys {
  private signingKey: KeyObject | undefined;
  private nodeKey: Buffer | undefined;

  constructor(readonly stateDir: string) {}

  private dir(): string {
    const d = syncDir(this.stateDir);
    mkdirSync(d, { recursive: true, mode: 0o700 });
    return d;
  }

  private privateKey(): KeyObject {
    if (!this.signingKey) {
      const pem = readOrCreate(join(this.dir(), 'signing-key.pem'), () =>
        Buffer.from(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 'ascii'),
      );
      const k = createPrivateKey(pem);
      if (k.asymmetricKeyType !== 'ed25519') throw new NetrootError('E_SYNC_KEY', `${join(syncDir(this.stateDir), 'signing-key.pem')} is not an Ed25519 key`);
      this.signingKey = k;
    }
    return this.signingKey;
  }

  /** The public key as base64 of its DER SubjectPublicKeyInfo (one line; the node writes it as a PEM). */
  publicKeySpki(): string {
    return (createPublicKey(this.privateKey()).export({ format: 'der', type: 'spki' }) as Buffer).toString('base64');
  }

  /** publicKeySpki() if the signing key exists, else null: nothing is created (previews have no side effect). */
  existingPublicKeySpki(): string | null {
    if (!this.signingKey && !existsSync(join(syncDir(this.stateDir), 'signing-key.pem'))) return null;
    return this.publicKeySpki();
  }

  publicKeyPem(): string {
    return createPublicKey(this.privateKey()).export({ format: 'pem', type: 'spki' }) as string;
  }

  sign(payload: Buffer): Buffer {
    return sign(null, payload, this.privateKey());
  }

  /**
   * The secret a node presents to fetch its payload: HMAC-SHA256(node-key, "netroot-sync-node\0" +
   * host name), base64url. Derived, not stored: a reinstall gets the same one, a renamed host a new
   * one, and deleting `node-key` revokes every node's at once.
   */
  nodeSecret(host: string): string {
    this.nodeKey ??= readOrCreate(join(this.dir(), 'node-key'), () => randomBytes(32));
    if (this.nodeKey.length < 32) throw new NetrootError('E_SYNC_KEY', `${join(syncDir(this.stateDir), 'node-key')} is shorter than 32 bytes`);
    return createHmac('sha256', this.nodeKey).update(`netroot-sync-node\0${host}`, 'utf8').digest('base64url');
  }
}

/** Whether `signature` is a valid Ed25519 signature of `payload` by the key whose SPKI (base64) is given. */
export function verifySignature(payload: Buffer, signature: Buffer, publicKeySpki: string): boolean {
  const der = Buffer.from(publicKeySpki, 'base64');
  if (der.length !== 44 || !der.subarray(0, 12).equals(ED25519_SPKI_PREFIX)) return false;
  const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  return verify(null, payload, key, signature);
}
