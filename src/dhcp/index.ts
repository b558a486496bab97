export { DhcpServer, type DhcpServerOptions, type DhcpDecider, type DhcpClientInfo, type DhcpLease, type DiscoveryEvent, type Reply } from './server.js';
export { decodeDhcp, encodeDhcp, messageType, clientMac, clientArch, isIpxe, clientUuid, textOption, ipOption, type DhcpMessage } from './packet.js';
export { Opt, MessageType, MAGIC_COOKIE } from './options.js';
export { LeasePool, type PoolConfig } from './leases.js';
