// Public surface of the embedded iSCSI target (what src/storage and src/app import).
export { IscsiTarget, addressAllowed, type IscsiMetrics, type IscsiTargetOptions, type IscsiTargetSettings, type TargetDefinition } from './target.js';
export type { IdentifyPeer } from './connection.js';
export { LunFile, type LunBackingOptions } from './lun-file.js';
export { LunClone, type CloneCreateOptions, type GoldenIdentity } from './lun-clone.js';
export type { LunStore } from './lun-store.js';
