// Whether each `ref` image can be had before anything is applied: present on the engine, or
// known to its registry. Asked of the Docker engine (GET /distribution/REF/json), which uses
// its own credentials, proxy and mirrors, so the answer is the one its pull would get; orx
// itself talks to no registry here. An image already on the engine costs one local call.
import type {LoadedConfig} from '../config/types.js';
import {connectDocker, engineMessage, isNotFound, statusCode, type Docker} from '../drivers/docker.js';
import {destination, systemResolver} from '../drivers/outbound.js';
import {parseReference, registryBaseUrl} from '../drivers/registry/reference.js';
import {describeClass, NEVER_CONTACTED} from '../util/address-class.js';

/** Per lookup; every lookup runs at once, so the whole check is bounded by this too. */
export const IMAGE_LOOKUP_TIMEOUT_MS = 5_000;

export interface ImageLookup {
  image: string;
  ref: string;
  registry: string;
  /** agent addresses that run it */
  agents: string[];
  /** `missing`: the engine does not have it and its registry cannot give it; `unknown`: no answer in time */
  status: 'missing' | 'unknown';
  reason: string;
}

/**
 * The `ref` images neither on the engine nor resolvable in their registry. Images with
 * `verify: {key}` are left out: their plan already resolves them in the registry to check the
 * signature, and denies them by name when it cannot.
 */
export async function unavailableImages(loaded: LoadedConfig, timeoutMs = IMAGE_LOOKUP_TIMEOUT_MS): Promise<ImageLookup[]> {
  const wanted = Object.entries(loaded.config.images).flatMap(([image, spec]) =>
    spec.ref && !spec.verify_key ? [{image, ref: spec.ref}] : [],
  );
  if (wanted.length === 0) return [];
  const docker = await connectDocker();
  const found = await Promise.all(
    wanted.map(async ({image, ref}): Promise<ImageLookup | null> => {
      if (await presentLocally(docker, ref)) return null;
      const registry = registryOf(ref);
      const answer = (await refusedDestination(registry)) ?? (await askRegistry(docker, ref, timeoutMs));
      if (answer.ok) return null;
      const agents = Object.entries(loaded.config.agents)
        .filter(([, a]) => a.image === image)
        .map(([name]) => `agent.${name}`);
      return {image, ref, registry, agents, status: answer.status, reason: answer.reason};
    }),
  );
  return found.filter((f): f is ImageLookup => f !== null);
}

async function presentLocally(docker: Docker, ref: string): Promise<boolean> {
  try {
    // the engine's own name matching: `busybox` finds docker.io/library/busybox:latest
    await docker.getImage(ref).inspect();
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * A configuration may come from a pull request: its image names must not make the engine reach
 * places no request of orx goes (link-local, cloud metadata, ...), the rule the registry client
 * keeps for `verify` images. A name that does not resolve here is left to the engine, whose
 * resolver or proxy may know it.
 */
async function refusedDestination(registry: string): Promise<Answer | null> {
  const found = await destination(new URL(registryBaseUrl(registry)), systemResolver).catch(() => []);
  const bad = found.find((d) => NEVER_CONTACTED.has(d.cls));
  if (!bad) return null;
  return {ok: false, status: 'missing', reason: `orx does not ask the engine to contact ${bad.address}: it is ${describeClass(bad.cls)}`};
}

type Answer = {ok: true} | {ok: false; status: 'missing' | 'unknown'; reason: string};

async function askRegistry(docker: Docker, ref: string, timeoutMs: number): Promise<Answer> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) =>
      docker.modem.dial(
        {
          // the engine's API takes the reference as it is written, slashes and all
          path: `/distribution/${ref}/json`,
          method: 'GET',
          statusCodes: {200: true, 401: 'unauthorized', 403: 'forbidden', 404: 'not found', 500: 'server error'},
          abortSignal: abort.signal,
        },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    return {ok: true};
  } catch (err) {
    if (abort.signal.aborted) {
      return {ok: false, status: 'unknown', reason: `the engine got no answer about it within ${timeoutMs / 1000} s`};
    }
    if (statusCode(err) === undefined && !isEngineAnswer(err)) throw err;
    return {ok: false, status: 'missing', reason: engineMessage(err).trim()};
  } finally {
    clearTimeout(timer);
  }
}

function isEngineAnswer(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'json' in err;
}

function registryOf(ref: string): string {
  try {
    return parseReference(ref).registry;
  } catch {
    return ref.split('/')[0];
  }
}
