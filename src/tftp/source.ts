// What the TFTP server serves: a resolver callback maps a requested path to a file (size + random
// reads) or null (not found). Per-node files are rendered on demand by the resolver; files on disk
// come from rootResolver (src/tftp/root-resolver.ts).
import { NetrootError } from '../errors.js';

export interface TftpFile {
  readonly size: number;
  /** The whole content when it is in memory (then `read` is not called by transfers). */
  readonly bytes?: Buffer;
  /** Up to `length` bytes at `offset` (fewer only at the end of the file). */
  read(offset: number, length: number): Promise<Buffer>;
  /**
   * Optional: fill `buf` from `offset`; resolves to the bytes read (fewer only at the end of the
   * file). A transfer of a file not in memory then reads every chunk into one buffer of its own,
   * reused for its whole life, instead of a fresh buffer per chunk (each fresh 1 MiB buffer cost
   * page faults and zeroing: ~20 % more server CPU per GB than a cached file).
   */
  readInto?(buf: Buffer, offset: number): Promise<number>;
  close?(): Promise<void>;
}

export interface TftpClient {
  address: string;
  port: number;
}

/**
 * null → error 1 (file not found). Throwing a NetrootError with code E_PATH_REFUSED or E_FORBIDDEN
 * → error 2 (access violation); E_NOT_FOUND → error 1; anything else → error 0 with a generic
 * message (never the internal message: it may name paths or secrets).
 */
export type TftpResolver = (path: string, client: TftpClient) => Promise<TftpFile | null>;

/** A file held in memory (rendered configs, scripts). */
export function bufferFile(data: Buffer): TftpFile {
  return {
    size: data.length,
    bytes: data,
    read: async (offset, length) => data.subarray(offset, Math.min(data.length, offset + length)),
  };
}

/** Resolvers tried in order; the first non-null answer wins. */
export function chainResolvers(...rs: TftpResolver[]): TftpResolver {
  return async (path, client) => {
    for (const r of rs) {
      const f = await r(path, client);
      if (f) return f;
    }
    return null;
  };
}

export function refusal(e: unknown): 'refused' | 'not-found' | 'internal' {
  if (e instanceof NetrootError) {
    if (e.code === 'E_PATH_REFUSED' || e.code === 'E_FORBIDDEN') return 'refused';
    if (e.code === 'E_NOT_FOUND') return 'not-found';
  }
  return 'internal';
}
