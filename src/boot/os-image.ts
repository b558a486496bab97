// The `os_image` attribute (global, os, appliance or host; resolved like every other attribute)
// chooses the OS image a node installs and boots diskless. One reader for every consumer:
//   - the kickstart: `liveimg --url` is the image's root tarball (Kickstart_LiveImage);
//   - the diskless switch: the boot record's kernel and initrd are the image's own (dracut);
//   - the booter: a boot record that points into an image is served only while that image is whole;
//   - `image remove`: refused while a host uses the image.
import type { ImageManifest, ImageRegistry } from '../image/index.js';
import type { Host, Repos } from '../store/index.js';

export const OS_IMAGE_ATTRIBUTE = 'os_image';

export interface ImageBootFiles {
  name: string;
  manifest: ImageManifest;
  /** Boot-root-relative paths (boot records and /boot/files/ use these). */
  kernel: string;
  initrd: string;
  rootTarball: string;
}

/** The image's files; throws E_IMAGE_NOT_FOUND / E_IMAGE_INCOMPLETE (user errors) naming the image. */
export async function imageBootFiles(images: ImageRegistry, name: string): Promise<ImageBootFiles> {
  const manifest = await images.get(name);
  return {
    name,
    manifest,
    kernel: images.relative(name, manifest.kernel.file),
    initrd: images.relative(name, manifest.initrd.file),
    rootTarball: images.relative(name, manifest.rootTarball.file),
  };
}

/** `images/<name>/...` → name; any other boot-root path → null. */
export function imageOfBootPath(path: string): string | null {
  return /^images\/([^/]+)\//.exec(path)?.[1] ?? null;
}

/** Hosts whose attributes choose the image, or whose diskless boot record points into it. */
export async function hostsUsingImage(repos: Repos, attributesOf: (h: Host) => Promise<Record<string, string>>, name: string): Promise<string[]> {
  const users: string[] = [];
  for (const h of await repos.hosts.list({})) {
    const chosen = (await attributesOf(h).catch(() => ({}) as Record<string, string>))[OS_IMAGE_ATTRIBUTE];
    const rec = await repos.boot.get(h.name);
    if (chosen === name || (rec && (imageOfBootPath(rec.kernel) === name || imageOfBootPath(rec.initrd) === name))) users.push(h.name);
  }
  return users;
}
