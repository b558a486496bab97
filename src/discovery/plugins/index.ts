// The built-in insert-ethers plugins, in the order they run (by name). The iSCSI allocation
// plugin needs the frontend's storage nodes (src/app/storage.ts); without them it is left out.
// `bootClone` (src/boot's DisklessRegenerator.bootClone) lets a golden clone boot without an install.
import type { Plugin } from '../plugin.js';
import type { StorageNode } from '../../storage/allocation.js';
import { hostsFilePlugin } from './hosts-file.js';
import { makeBootActionPlugin, type BootActionDeps } from './boot-action.js';
import { iscsiAllocationPlugin } from './iscsi-allocation.js';
import { slurmConfPlugin } from './slurm-conf.js';

export function builtinPlugins(deps: { storageNodes?: readonly StorageNode[] } & BootActionDeps = {}): Plugin[] {
  const out: Plugin[] = [];
  if (deps.storageNodes) out.push(iscsiAllocationPlugin(deps.storageNodes));
  // slurm-conf does nothing unless config slurm.enabled.
  out.push(hostsFilePlugin, slurmConfPlugin, makeBootActionPlugin(deps.bootClone ? { bootClone: deps.bootClone } : {}));
  return out;
}
