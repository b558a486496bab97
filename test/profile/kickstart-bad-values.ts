// Issue 13's bad attribute values, shared by the CLI and HTTP tests: each makes a kickstart that
// Anaconda would reject (or misread). `host` is the shipped appliance's host that uses it; a
// secret's value must never appear in an answer or a log. (An invalid `hostname` cannot be set
// as an attribute, intrinsic facts win: the tests add such a host to the store directly.)
export interface BadValue {
  name: string;
  value: string;
  host: 'compute-0-0' | 'compute-0-1';
  secret: boolean;
}

export const BAD_VALUES: readonly BadValue[] = [
  { name: 'rootpw_crypted', value: '$6$GoldSalt$Qx7kTz9 Wv3mRp', host: 'compute-0-0', secret: true },
  { name: 'Kickstart_Lang', value: '', host: 'compute-0-0', secret: false },
  { name: 'Kickstart_InstallUrl', value: 'http://mirror.local/rocky 9/os', host: 'compute-0-0', secret: false },
  { name: 'Kickstart_LiveImage', value: 'http://10.1.1.1:8080/my root.tar.gz', host: 'compute-0-0', secret: false },
  { name: 'Kickstart_Timezone', value: 'UTC\n%pre\nreboot', host: 'compute-0-0', secret: false },
  { name: 'Kickstart_Keyboard', value: '', host: 'compute-0-0', secret: false },
  { name: 'Kickstart_Bootproto', value: 'dhcp4', host: 'compute-0-0', secret: false },
  { name: 'iscsi_secret', value: 'Golden Secret#123', host: 'compute-0-1', secret: true },
  { name: 'iscsi_target', value: 'iqn.2026-11.local.netroot:compute-0-1 --port=1', host: 'compute-0-1', secret: false },
];

/** Pieces of a secret value long enough to recognise in an answer or a log line. */
export const secretPieces = (value: string) => value.split(/[\s#$]+/).filter((p) => p.length >= 4);
