import type Dockerode from 'dockerode';
import {followProgress, type Docker} from './docker.js';
import {retryTransient, type RetryOptions} from './engine-retry.js';

/**
 * Builds an image and reads its progress to the end, trying again when the engine failed
 * the build over another client's concurrent change to shared layers (see engine-retry.ts).
 */
export function buildImage(
  docker: Docker,
  context: {context: string; src: string[]},
  options: Dockerode.ImageBuildOptions & {abortSignal?: AbortSignal},
  retry: Omit<RetryOptions, 'signal'> = {},
): Promise<Array<Record<string, unknown>>> {
  return retryTransient(async () => followProgress(docker, await docker.buildImage(context, options)), {
    ...retry,
    signal: options.abortSignal,
  });
}
