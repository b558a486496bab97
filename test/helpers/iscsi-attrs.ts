// A node's iscsi_* host attributes, as the allocation plugin writes them (a leaf: profile tests use it too).

/** The iscsi_* host attributes of a node whose volume is LUN 0 of a target on 10.1.1.1 (what allocation writes). */
export function iscsiAttrs(host: string, secret: string): Record<string, string> {
  return {
    iscsi_initiator: `iqn.2026-11.local.netroot:init:${host}`,
    iscsi_target: `iqn.2026-11.local.netroot:${host}`,
    iscsi_portal: '10.1.1.1',
    iscsi_port: '3260',
    iscsi_lun: '0',
    iscsi_user: host,
    iscsi_secret: secret,
  };
}
