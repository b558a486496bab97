// Shipped defaults for the attributes the roles use (source D in `netroot attr list`): every one
// can be overridden at global, os, appliance or host level. Host-specific ones (iscsi_*,
// install_token, hostname, ...) have no default: a role that needs one and finds none fails.
export const DEFAULT_GLOBAL_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({
  Kickstart_Lang: 'en_US.UTF-8',
  Kickstart_Keyboard: 'us',
  Kickstart_Timezone: 'UTC',
  Kickstart_Bootproto: 'dhcp',
  /** Empty: the root password is locked (log in with keys, the ssh role) until a site sets a hash. */
  rootpw_crypted: '',
  /** Installer source: a distribution tree URL, or a root tarball for the lab installer. */
  Kickstart_InstallUrl: 'http://mirror.local/rocky/9/BaseOS/x86_64/os',
  Kickstart_LiveImage: '',
  ntp_server: 'frontend',
  ssh_authorized_key: '',
  /** roles/cluster/scratch.xml: use disks holding foreign data (yes) or leave them untouched (no). */
  scratch_wipe: 'no',
  /** roles/cluster/scratch.xml: the scratch file system, ext4 or xfs. */
  scratch_fs: 'ext4',
  /** roles/cluster/slurm-client.xml: where slurmd fetches slurm.conf (configless), host[:port]; '': the frontend's address. */
  slurm_conf_server: '',
  /** roles/cluster/nfs-home.xml: the home server ('': the frontend's address), its export, the mount options. */
  nfs_home_server: '',
  nfs_home_export: '/export/home',
  nfs_home_options: 'rw,hard,proto=tcp',
  /**
   * The Rocks release whose node-file semantics netroot follows (docs/ROCKS.md): node files test
   * `rocks_version_major` in cond= and print `&version;`. A site on another release overrides them.
   */
  rocks_version: '7.0',
  rocks_version_major: '7',
  version: '7.0',
  os: 'linux',
  release: '9',
  arch: 'x86_64',
});
