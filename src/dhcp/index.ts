export { DhcpServer, type DhcpServerOptions, type DhcpDecider, type DhcpClientInfo, type DhcpLease, type DiscoveryEvent, type Reply } from './server.js';
export { decodeDhcp, encodeDhcp, messageType, clientMac, clientArch, isIpxe, clientUuid, textOption, ipOption, type DhcpMessage } from './packet.js';
export { Opt, MessageType, MAGIC_COOKIE } from './options.js';
export { LeasePool, type PoolConfig } from './leases.js';
export { RaResponder, WindowLimiter, RA_MAX_TRACKED_SOURCES, type RaResponderOptions, type RaStats } from './ra-responder.js';
export { nativeIcmp6, type Icmp6Io } from './icmp6-socket.js';
export { encodeRouterAdvertisement, decodeRouterAdvertisement, decodeRouterSolicitation, invalidSolicitation } from './ra-packet.js';
