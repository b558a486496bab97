export * from './packet.js';
export * from './options.js';
export * from './source.js';
export * from './metrics.js';
export { Transfer, type TransferParams } from './transfer.js';
export { TftpServer, classifyRequest, type TftpServerOptions, type ClientIdentity, type RequestAction } from './server.js';
export { rootResolver } from './root-resolver.js';
export { FileCache, type FileCacheOptions } from './file-cache.js';
