export { Lab, OVMF_CODE, OVMF_VARS, type LabOptions, type LabNode, type BootNodeOptions, type Firmware } from './lab.js';
export { ConsoleLog } from './console.js';
export { removeStale, deleteNamespace, namespaces } from './netns.js';
export { markerInitrd, markerBootFiles, rootImage, iscsiRootInitrd, installedKernel, kernelVersion, type TestImages } from './test-images.js';
export { PeerLab, type PeerLabOptions } from './peer.js';
