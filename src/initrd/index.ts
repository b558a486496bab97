// Public surface of src/initrd.
export * from './cpio.js';
export * from './kernel-args.js';
export * from './modules.js';
export { renderNodeOverlay, renderOverlayFiles, OverlayRenderer, shellQuote, defaultTemplatesDir, type OverlayFile } from './overlay.js';
export { buildBaseInitrd, parseLdd, type BaseInitrdOptions, type BaseInitrdResult } from './base.js';
export { buildInstallerInitrd, type InstallerInitrdOptions, type InstallerInitrdResult } from './installer.js';
export { buildLabRootTarball, writeTar, type TarEntry, type LabRootOptions, type LabRootResult } from './lab-root.js';
