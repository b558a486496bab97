// DHCP option codes netroot reads or writes (RFC 2132 unless noted).
export const Opt = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  DOMAIN: 15,
  BROADCAST: 28,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAM_LIST: 55,
  MESSAGE: 56,
  MAX_SIZE: 57,
  RENEWAL_T1: 58,
  REBINDING_T2: 59,
  VENDOR_CLASS: 60,
  CLIENT_ID: 61,
  TFTP_SERVER: 66,
  BOOTFILE: 67,
  USER_CLASS: 77, // RFC 3004
  RELAY_AGENT: 82, // RFC 3046
  CLIENT_ARCH: 93, // RFC 4578
  CLIENT_NII: 94, // RFC 4578
  CLIENT_UUID: 97, // RFC 4578
  IPXE: 175, // iPXE encapsulated options: its presence means the client runs iPXE
  END: 255,
} as const;

export const MessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

export const MAGIC_COOKIE = 0x63825363;
