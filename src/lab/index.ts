export { Lab, exitWithin, OVMF_CODE, OVMF_VARS, type LabOptions, type LabNode, type BootNodeOptions, type Firmware } from './lab.js';
export { ConsoleLog } from './console.js';
export { removeStale, deleteNamespace, namespaces, pidAlive } from './netns.js';
export { markerInitrd, markerBootFiles, rootImage, iscsiRootInitrd, installedKernel, kernelVersion, type TestImages } from './test-images.js';
export { PeerLab, IPXE_BIOS, IPXE_EFI, type PeerLabOptions } from './peer.js';
export { measurePeerDisklessBoot, REFERENCE_IQN, REFERENCE_ROOT_MARKER, type PeerBootResult, type PeerBootOptions } from './reference.js';
export { FullLab, nodeMac, LAB_ROOT_BOOTED, LAB_ROOT_READY, LAB_INSTALL_DONE, type FullLabOptions, type NodeLife, type CliResult } from './full.js';
export { RealOsNode, LabSsh, labSshKey, KERNEL_START, type RealOsLife } from './real-os.js';
