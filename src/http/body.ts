// Reads a request body into one Buffer, at most `maxBytes`, with none of body-parser's habits that
// cost availability: a Content-Length over the limit is refused before a byte is read (body-parser
// reads the whole declared body off first, then answers), a chunked body is refused the moment it
// passes the limit, and nothing is inflated (Content-Encoding other than identity is refused: a
// compressed body's real size is unknown until it is expanded). A refusal marks the response
// `Connection: close`, so Node closes the connection after answering instead of reading the rest.
// How long the body may take is the server's requestTimeout (server.ts), not this module's.
import type { Request, Response } from 'express';
import { UserError } from '../errors.js';

/** The body, or null when the client went away (or was cut at its deadline) before sending it all. */
export function readBody(req: Request, res: Response, maxBytes: number): Promise<Buffer | null> {
  const refuse = (e: UserError) => {
    res.setHeader('Connection', 'close');
    return Promise.reject(e);
  };
  const enc = req.headers['content-encoding'];
  if (enc !== undefined && enc.toLowerCase() !== 'identity')
    return refuse(new UserError('E_UNSUPPORTED_ENCODING', `request bodies with Content-Encoding ${JSON.stringify(enc.slice(0, 40))} are not accepted`));
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes)
    return refuse(new UserError('E_BODY_TOO_LARGE', `request body of ${Number(declared)} bytes exceeds the limit of ${maxBytes}`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        res.setHeader('Connection', 'close');
        reject(new UserError('E_BODY_TOO_LARGE', `request body exceeds the limit of ${maxBytes} bytes`));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onClose = () => {
      cleanup();
      resolve(null);
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    req.once('error', onClose);
  });
}
