export { Lab, exitWithin, qemuArgs, OVMF_CODE, OVMF_VARS, type LabOptions, type LabNode, type BootNodeOptions, type Firmware } from './lab.js';
export { ConsoleLog } from './console.js';
export { removeStale, deleteNamespace, namespaces, pidAlive } from './netns.js';
export { markerInitrd, markerBootFiles, rootImage, iscsiRootInitrd, installedKernel, kernelVersion, type TestImages } from './test-images.js';
export { PeerLab, IPXE_BIOS, IPXE_EFI, type PeerLabOptions } from './peer.js';
export { measurePeerDisklessBoot, PeerBootStack, REFERENCE_IQN, REFERENCE_ROOT_MARKER, type PeerBootResult, type PeerBootOptions } from './reference.js';
export {
  FullLab,
  nodeMac,
  ipmitoolPowerOn,
  netrootPowerOn,
  netrootRegisterBmc,
  type LabPowerOn,
  type LabPowerOnRequest,
  LAB_ROOT_BOOTED,
  LAB_ROOT_READY,
  LAB_INSTALL_DONE,
  type FullLabOptions,
  type NodeLife,
  type CloneLife,
  GOLDEN_LAB_ROLE,
  type CliResult,
} from './full.js';
export { RealOsNode, LabSsh, labSshKey, KERNEL_START, type RealOsLife } from './real-os.js';
export {
  IpmiBmc,
  IpmiBmcs,
  parseChassisRequest,
  lanConf,
  chassisControlScript,
  qmpCommand,
  IPMI_PORT,
  IPMI_CIPHER_SUITE,
  IPMI_VM_PORT,
  CHASSIS_BOOT_DEVICES,
  CHASSIS_REQUEST_MAX,
  type ChassisRequest,
  type ChassisBootDevice,
  type LabBmcInfo,
  type BmcMachine,
  type AddBmcOptions,
  type IpmiBmcsOptions,
  type IpmitoolResult,
} from './ipmi-bmc.js';
