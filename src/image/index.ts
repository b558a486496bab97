export { ImageRegistry, MANIFEST, type ImageListing } from './registry.js';
export { parseManifest, validImageName, IMAGE_NAME, type ImageManifest, type ImageFile } from './manifest.js';
export { buildImage, buildRequestFrom, frontendSources, DISTRIBUTIONS, BASE_PACKAGES, type BuildRequest } from './build.js';
export { importImage } from './import.js';
export { checkRoot, distributionOf, kernelsOf, type RootFacts } from './root-check.js';
export { applyDisklessFixups } from './fixups.js';
export { prepareImage } from './prepare.js';
export { layImage, mbr, PARTITION_OFFSET, MIN_VOLUME_BYTES, type LayOptions } from './lay.js';
export type { Progress } from './run.js';
