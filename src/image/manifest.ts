// An OS image's manifest: what `netroot image build|import` produced and every consumer (the
// booter, the kickstart, `image show`) reads. It is written last, inside the staging directory,
// and the directory is renamed into place: an image without a valid manifest does not exist.
import { z } from 'zod';
import { UserError } from '../errors.js';

/** Image names become directory names and URL segments. */
export const IMAGE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function validImageName(name: string): string {
  if (!IMAGE_NAME.test(name) || name.includes('..')) {
    throw new UserError('E_BAD_IMAGE_NAME', `not a valid image name: ${JSON.stringify(name)} (lower-case letters, digits, '.', '_', '-'; at most 63)`, {
      where: 'name',
    });
  }
  return name;
}

const fileEntry = z
  .object({
    /** File name inside the image directory (no '.', '..' or dot-file: it stays inside). */
    file: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/),
    size: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();

export const manifestSchema = z
  .object({
    version: z.literal(1),
    name: z.string().regex(IMAGE_NAME),
    /** e.g. "debian-12", or what /etc/os-release says for an imported root ("rocky-9.4"). */
    distribution: z.string().min(1).max(64),
    source: z.enum(['build', 'import']),
    createdAt: z.string(),
    kernelVersion: z.string().regex(/^[A-Za-z0-9._+~-]{1,64}$/),
    kernel: fileEntry,
    /** The image's own dracut initrd for its kernel (dracut --no-hostonly, iscsi + a network module). */
    initrd: fileEntry,
    /** The root file system as a gzipped tarball: the kickstart's `liveimg --url`. */
    rootTarball: fileEntry,
    dracut: z
      .object({
        version: z.string().max(64),
        modules: z.array(z.string().max(64)),
        omitted: z.array(z.string().max(64)),
      })
      .strict(),
    /** Installed packages, "name version" each, sorted. */
    packages: z.array(z.string().max(256)),
    /** Root file system size in bytes (unpacked). */
    rootBytes: z.number().int().nonnegative(),
  })
  .strict();

export type ImageManifest = z.infer<typeof manifestSchema>;
export type ImageFile = z.infer<typeof fileEntry>;

export function parseManifest(text: string, where: string): ImageManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError('E_IMAGE_INCOMPLETE', `manifest is not JSON: ${(e as Error).message}`, { where });
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new UserError('E_IMAGE_INCOMPLETE', `manifest field ${first?.path.join('.') || '(root)'}: ${first?.message ?? 'invalid'}`, { where });
  }
  return r.data;
}
