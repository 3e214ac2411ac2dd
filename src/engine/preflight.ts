// Mistakes found before a plan is made, where the configuration says them (file:line:col),
// instead of by the apply: a file:// secret that is missing or unsafe, an image that cannot be
// had. Nothing here reads a secret or pulls an image.
import {configInvalid} from '../config/diagnostics.js';
import {diagnosticsAt} from '../config/load.js';
import type {Problem} from '../config/problem.js';
import type {LoadedConfig} from '../config/types.js';
import {OrxError, formatDiagnostic, type Diagnostic} from '../errors.js';
import {secretPresenceProblems} from '../secrets/config-check.js';
import {protectedKeyFiles} from './agent-secrets.js';
import type {OrxContext} from './context.js';
import {unavailableImages, type ImageLookup} from './image-availability.js';
import {unavailableImageActions} from '../resources/image.js';

/**
 * Before a plan that starts things (not a destroy): secret references always, images only when
 * the plan may ask the engine (refresh on). Warnings go to the log, once each.
 */
export async function preflight(ctx: OrxContext, loaded: LoadedConfig, o: {mode: 'apply' | 'destroy'; refresh: boolean}): Promise<void> {
  if (o.mode !== 'apply') return;
  await checkSecretReferences(ctx, loaded, process.env);
  if (o.refresh) await checkImagesAvailable(ctx, loaded);
}

/**
 * The secret references checked like the resolver would, without reading them: a file:// one it
 * would refuse is an error; an env:// one whose variable is unset is a warning (CI may set it
 * before the apply). Warnings are logged once each, errors or not, and returned at their lines.
 */
export async function checkSecretReferences(
  ctx: Pick<OrxContext, 'dir' | 'log'>,
  loaded: LoadedConfig,
  env: NodeJS.ProcessEnv,
): Promise<Diagnostic[]> {
  const protect = protectedKeyFiles({dir: ctx.dir, config: loaded.config});
  const found = await secretPresenceProblems(loaded.config, {dir: ctx.dir, env, protect});
  const warnings = found.warnings.length > 0 ? diagnosticsAt(loaded, found.warnings) : [];
  for (const w of warnings) ctx.log.warn(formatDiagnostic(w));
  if (found.errors.length > 0) throw configInvalid(diagnosticsAt(loaded, found.errors));
  return warnings;
}

/** Every `ref` image is on the engine or resolvable in its registry; else one error naming each, at its line. */
export async function checkImagesAvailable(ctx: Pick<OrxContext, 'log'>, loaded: LoadedConfig): Promise<void> {
  const lookups = await unavailableImages(loaded);
  const missing = lookups.filter((l) => l.status === 'missing');
  for (const l of lookups.filter((x) => x.status === 'unknown'))
    ctx.log.warn(`image ${l.image} (${l.ref}) is not on this machine and ${l.reason}; apply will try to pull it from ${l.registry}`);
  if (missing.length > 0) throw imagesUnavailable(loaded, missing);
}

function imagesUnavailable(loaded: LoadedConfig, missing: ImageLookup[]): OrxError {
  const problems: Problem[] = missing.map((m) => ({
    path: ['images', m.image, 'ref'],
    message: `images.${m.image}.ref: ${m.ref}${m.agents.length ? ` (used by ${m.agents.join(', ')})` : ''} is not on this machine and cannot be pulled from ${m.registry}: ${m.reason}`,
  }));
  const diagnostics = diagnosticsAt(loaded, problems);
  const refs = missing.map((m) => m.ref);
  return new OrxError({
    code: 'image_unavailable',
    message: diagnostics.map(formatDiagnostic).join('\n'),
    diagnostics,
    actions: unavailableImageActions(refs[0]),
    data: {images: missing.map((m) => ({image: m.image, ref: m.ref, registry: m.registry, agents: m.agents, reason: m.reason}))},
  });
}
