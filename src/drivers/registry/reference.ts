// Image references: parsing, the canonical spelling, and where a registry's API is.
import {OrxError, preview} from '../../errors.js';

export interface ImageReference {
  /** host[:port] as written, `docker.io` for Docker Hub */
  registry: string;
  /** path inside the registry, `library/x` for official Docker Hub images */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST_RE =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::([0-9]{1,5}))?$/;
const NAME_MAX = 255;

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

function invalidReference(ref: string, why: string): OrxError {
  return new OrxError({
    code: 'invalid_reference',
    message: `invalid image reference ${JSON.stringify(preview(ref))}: ${why}`,
    actions: [
      'Write it as [REGISTRY[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST], e.g. ghcr.io/example/tools:1.4 or 127.0.0.1:5000/test/x@sha256:….',
    ],
  });
}

/**
 * Parses a reference the way Docker does: the first path component is a registry when
 * it contains a `.` or a `:` or is `localhost` (otherwise the image is on Docker Hub,
 * official images under `library/`); no tag and no digest means `latest`.
 */
export function parseReference(ref: string): ImageReference {
  if (typeof ref !== 'string' || ref.length === 0) throw invalidReference(String(ref), 'it is empty');
  if (/[\s\u0000-\u001f\u007f]/.test(ref)) throw invalidReference(ref, 'it contains whitespace or control characters');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw invalidReference(ref, `the digest must be sha256: followed by 64 lowercase hex digits`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag))
      throw invalidReference(
        ref,
        `the tag ${JSON.stringify(preview(tag))} is not valid (letters, digits, _ . -, at most 128, not starting with . or -)`,
      );
  }
  if (!rest) throw invalidReference(ref, 'the repository name is missing');
  let registry = DOCKER_HUB;
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      registry = first;
      repository = rest.slice(slash + 1);
    }
  }
  const host = HOST_RE.exec(registry);
  if (!host) throw invalidReference(ref, `the registry ${JSON.stringify(preview(registry))} is not a host[:port]`);
  if (host[1] !== undefined && (Number(host[1]) < 1 || Number(host[1]) > 65535))
    throw invalidReference(ref, `the port ${host[1]} is out of range`);
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  for (const part of repository.split('/')) {
    if (!PATH_COMPONENT_RE.test(part)) {
      const why =
        part !== part.toLowerCase()
          ? 'repository names must be lowercase'
          : `the path component ${JSON.stringify(preview(part))} is not valid (lowercase letters and digits, separated by . _ __ or -)`;
      throw invalidReference(ref, why);
    }
  }
  if (registry.length + 1 + repository.length > NAME_MAX) throw invalidReference(ref, `the name is longer than ${NAME_MAX} characters`);
  if (!tag && !digest) tag = 'latest';
  return {registry, repository, ...(tag ? {tag} : {}), ...(digest ? {digest} : {})};
}

/** The canonical spelling: `registry/repository[:tag][@digest]`. */
export function formatReference(r: ImageReference): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.split(':')[0];
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Base URL of a registry's API: http for loopback, https otherwise. */
export function registryBaseUrl(registry: string): string {
  if (registry === DOCKER_HUB) return `https://${DOCKER_HUB_API}`;
  return `${isLoopbackRegistry(registry) ? 'http' : 'https'}://${registry}`;
}

/** `repo[:tag][@digest]` -> `repo`, as the engine names it: what a digest is appended to. */
export function repositoryOf(ref: string): string {
  const noDigest = ref.split('@')[0];
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}
