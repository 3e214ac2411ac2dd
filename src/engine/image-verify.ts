import type {LoadedConfig} from '../config/types.js';

export interface ImageVerification {
  image: string;
  ref: string;
  ok: boolean;
  /** the registry digest the signature was checked for: what apply pulls */
  digest: string | null;
  reason: string | null;
}

/**
 * Images with `verify: {key}` are resolved to a digest in their registry and their cosign
 * signature checked for exactly that digest, at plan time, all in parallel.
 */
export async function verifyImages(loaded: LoadedConfig): Promise<Map<string, ImageVerification>> {
  const wanted = Object.entries(loaded.config.images).flatMap(([image, spec]) =>
    spec.ref && spec.verify_key ? [{image, ref: spec.ref, key: spec.verify_key}] : [],
  );
  if (wanted.length === 0) return new Map();
  const [{verifyImage}, {readTrustedKeyFile}] = await Promise.all([import('../trust/cosign.js'), import('../trust/keys.js')]);
  const results = await Promise.all(
    wanted.map(async ({image, ref, key}): Promise<ImageVerification> => {
      const r = await verifyImage(ref, readTrustedKeyFile(key).publicKeyPem);
      return r.ok ? {image, ref, ok: true, digest: r.digest, reason: null} : {image, ref, ok: false, digest: r.digest, reason: r.reason};
    }),
  );
  return new Map(results.map((r) => [r.image, r]));
}
