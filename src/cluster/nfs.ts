// The frontend side of the nfs-home role: the home export, served by the kernel NFS server where
// the machine has one (exportfs; Debian nfs-kernel-server) or by nfs-ganesha (Debian nfs-ganesha +
// nfs-ganesha-vfs: user space, FSAL VFS) where it has not. netroot does not run either: it writes
// ganesha's configuration on request (`renderGaneshaConf`) and checks at `netroot serve` start that
// the export answers (`nfsNullCall`, the NFSv4 NULL procedure over TCP, RFC 5531 + RFC 7530 §16.1).
import { connect } from 'node:net';

export interface GaneshaExport {
  /** The directory exported (also its NFSv4 pseudo path: nodes mount <server>:<exportDir>). */
  exportDir: string;
  /** Who may mount it: one IPv4 network (the private network). */
  clients: string;
  bindAddress: string;
  port: number;
}

const PATH = /^\/[A-Za-z0-9._/-]{0,255}$/;
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;
const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

export class NfsConfigError extends Error {
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(message);
    this.name = 'NfsConfigError';
  }
}

/**
 * ganesha.conf for one read-write NFSv4 export over TCP, root not squashed (the frontend's
 * administrator manages homes), no NLM/RQUOTA (v4 has its own locking), no Kerberos. Values are
 * checked against what ganesha's syntax can hold (no quote, brace, ';' or white space).
 */
export function renderGaneshaConf(e: GaneshaExport): string {
  if (!PATH.test(e.exportDir) || e.exportDir.split('/').includes('..') || e.exportDir === '/')
    throw new NfsConfigError(`${JSON.stringify(e.exportDir)}: an absolute directory (letters, digits, . _ - /), not /`, 'nfs.exportDir');
  if (!CIDR.test(e.clients)) throw new NfsConfigError(`${JSON.stringify(e.clients)}: an IPv4 network like 10.1.0.0/16`, 'nfs.clients');
  if (!IPV4.test(e.bindAddress)) throw new NfsConfigError(`${JSON.stringify(e.bindAddress)}: an IPv4 address`, 'nfs.bindAddress');
  if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) throw new NfsConfigError(`${e.port}: a TCP port`, 'nfs.port');
  return `# written by netroot (role nfs-home): ${e.exportDir} for ${e.clients}
NFS_CORE_PARAM {
  Protocols = 4;
  NFS_Port = ${e.port};
  Bind_addr = ${e.bindAddress};
  Enable_NLM = false;
  Enable_RQUOTA = false;
}
NFSV4 {
  Graceless = true;
}
NFS_KRB5 {
  Active_krb5 = false;
}
EXPORT {
  Export_Id = 1;
  Path = ${e.exportDir};
  Pseudo = ${e.exportDir};
  Protocols = 4;
  Transports = TCP;
  SecType = sys;
  Access_Type = None;
  Squash = No_Root_Squash;
  CLIENT {
    Clients = ${e.clients};
    Access_Type = RW;
  }
  FSAL {
    Name = VFS;
  }
}
`;
}

const NFS_PROGRAM = 100003;
/** An RPC reply to a NULL call is 24 bytes plus the verifier (≤ 400 bytes, RFC 5531 §8.2). */
const MAX_REPLY = 1024;

/** The NFSv4 NULL call (RFC 5531 §9: xid, CALL, rpcvers 2, program, version 4, procedure 0, AUTH_NONE cred and verifier), with its record mark. */
export function nullCall(xid: number): Buffer {
  const b = Buffer.alloc(44);
  b.writeUInt32BE((0x80000000 | 40) >>> 0, 0);
  const words = [xid >>> 0, 0, 2, NFS_PROGRAM, 4, 0, 0, 0, 0, 0];
  for (const [i, w] of words.entries()) b.writeUInt32BE(w, 4 + i * 4);
  return b;
}

/**
 * Checks a reply to nullCall(xid): one last fragment, the same xid, REPLY, MSG_ACCEPTED, a
 * verifier within bounds, SUCCESS. Returns null when it is, else why not (for the start report).
 */
export function checkNullReply(reply: Buffer, xid: number): string | null {
  if (reply.length < 4) return 'the reply was cut short';
  const mark = reply.readUInt32BE(0);
  const len = mark & 0x7fffffff;
  if ((mark & 0x80000000) === 0) return 'the reply came in several fragments';
  if (len < 24 || len > MAX_REPLY - 4) return `a reply of ${len} bytes is not an RPC reply to NULL`;
  if (reply.length < 4 + len) return 'the reply was cut short';
  const w = (i: number) => reply.readUInt32BE(4 + i * 4);
  if (w(0) !== xid >>> 0) return 'the reply answers another call';
  if (w(1) !== 1) return 'not an RPC reply';
  if (w(2) !== 0) return 'the call was denied (MSG_DENIED)';
  const verfLen = w(4);
  if (verfLen > 400 || 20 + Math.ceil(verfLen / 4) * 4 + 4 > len) return 'a malformed verifier';
  const accept = reply.readUInt32BE(4 + 20 + Math.ceil(verfLen / 4) * 4);
  if (accept === 1) return 'the server does not serve NFS (PROG_UNAVAIL)';
  if (accept === 2) return 'the server does not serve NFSv4 (PROG_MISMATCH)';
  if (accept !== 0) return `the NULL call failed (accept_stat ${accept})`;
  return null;
}

/** Resolves null when host:port answers the NFSv4 NULL procedure within timeoutMs, else why not. */
export function nfsNullCall(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const xid = (Math.random() * 0xffffffff) >>> 0;
    const sock = connect({ host, port });
    let got = Buffer.alloc(0);
    let done = false;
    const finish = (why: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    sock.once('connect', () => sock.write(nullCall(xid)));
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length > MAX_REPLY) return finish(checkNullReply(got.subarray(0, MAX_REPLY), xid) ?? null);
      if (got.length >= 4 && got.length >= 4 + (got.readUInt32BE(0) & 0x7fffffff)) finish(checkNullReply(got, xid));
    });
    sock.once('end', () => finish(checkNullReply(got, xid) ?? null));
    sock.once('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ECONNREFUSED' ? 'connection refused' : `${e.code ?? e.message}`));
  });
}
