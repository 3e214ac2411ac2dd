import {createHash} from 'node:crypto';
import {OrxError, preview} from '../../errors.js';
import {outboundFetch, OutboundRefusal, type Home, type Resolver} from '../outbound.js';
import {formatReference, isDigest, isLoopbackRegistry, parseReference, registryBaseUrl} from './reference.js';

/**
 * A small, anonymous Docker Registry HTTP API v2 client: enough to resolve a reference
 * to its manifest digest and to read and write the few blobs and manifests a cosign
 * signature is made of. Plain http for loopback registries (127.0.0.0/8, localhost,
 * ::1), https for every other one. Every destination is checked before connecting
 * (drivers/outbound.ts): never link-local or metadata addresses, and redirects only where
 * the registry's own place allows. Every request is bounded in time and every body
 * read is bounded in size. Registries that want credentials are supported only as far
 * as an anonymous bearer token goes (public images on Docker Hub, ghcr.io, ...).
 */

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

/** Every manifest kind orx understands; without the Docker ones, old registries convert to schema 1. */
export const MANIFEST_ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest].join(
  ', ',
);

function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export type RegistryErrorCode =
  'registry_unreachable' | 'registry_refused' | 'registry_auth' | 'registry_not_found' | 'registry_error' | 'registry_bad_response';

/** One registry failure; `reason` is a short phrase for a verification result or a denial. */
export class RegistryError extends OrxError {
  readonly status: number | undefined;
  readonly reason: string;
  constructor(init: {code: RegistryErrorCode; message: string; reason: string; status?: number; actions?: string[]; cause?: unknown}) {
    super({
      code: init.code,
      kind: 'external',
      message: init.message,
      actions: init.actions,
      cause: init.cause,
      data: init.status ? {status: init.status} : {},
    });
    this.name = 'RegistryError';
    this.status = init.status;
    this.reason = init.reason;
  }
}

export interface RegistryOptions {
  /** per request, including its redirects and reading the body (default 15 s) */
  timeoutMs?: number;
  /** name resolution (default: the system's); every address it gives is checked before connecting */
  resolve?: Resolver;
}

// before the registry itself was reached, a URL it chose is judged as if it were public
const STRICT_HOME: Home = {scheme: 'https:', cls: 'public'};

const DEFAULT_TIMEOUT_MS = 15_000;
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_ERROR_BODY = 4096;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

export interface Manifest {
  schemaVersion: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  manifest: Manifest;
}

function causeText(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'timed out';
  const cause = err instanceof Error ? (err as Error & {cause?: unknown}).cause : undefined;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (cause.name === 'TimeoutError' || cause.name === 'AbortError') return 'timed out';
    if (!cause.message) return code ?? cause.name;
    return code && !cause.message.includes(code) ? `${code}: ${cause.message}` : cause.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Reads a body up to `max` bytes; a larger body is an error, not a truncation. */
async function readBody(res: Response, max: number, what: string, registry: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => undefined);
    throw new RegistryError({
      code: 'registry_bad_response',
      reason: `registry sent an oversized ${what}`,
      message: `${registry} sent a ${what} of ${declared} bytes (limit ${max})`,
    });
  }
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const {done, value} = (await reader.read()) as {done: false; value: Uint8Array} | {done: true; value?: undefined};
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw new RegistryError({
        code: 'registry_bad_response',
        reason: `registry sent an oversized ${what}`,
        message: `${registry} sent a ${what} larger than ${max} bytes`,
      });
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

function parseChallenge(header: string | null): Challenge | null {
  if (!header) return null;
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return null;
  const params: Record<string, string> = {};
  for (const p of m[2].matchAll(/(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g)) params[p[1].toLowerCase()] = p[2] ?? p[3] ?? '';
  return {scheme: m[1].toLowerCase(), params};
}

interface RequestInit2 {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** the repository scope for an anonymous token, e.g. `repository:x/y:pull` */
  scope?: string;
  /** statuses the caller handles itself (no error thrown) */
  expect?: number[];
  what: string;
}

export class RegistryClient {
  readonly registry: string;
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly resolve: Resolver | undefined;
  private readonly tokens = new Map<string, string>();
  /** where the registry turned out to be, once reached: its answers' URLs are judged against it */
  private home: Home | null = null;

  constructor(registry: string, opts: RegistryOptions = {}) {
    this.registry = registry;
    this.baseUrl = registryBaseUrl(registry);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.resolve = opts.resolve;
  }

  private fetch(
    url: string,
    init: {method?: string; headers?: Record<string, string>; body?: Buffer; chosenBy: 'operator' | 'server'},
  ): Promise<Response> {
    return outboundFetch(url, {
      ...init,
      signal: AbortSignal.timeout(this.timeoutMs),
      home: this.home ?? STRICT_HOME,
      resolve: this.resolve,
      onHome: (h) => (this.home = h),
    });
  }

  private refused(err: OutboundRefusal): RegistryError {
    return new RegistryError({
      code: 'registry_refused',
      reason: `registry refused by orx: ${err.message}`,
      message: err.message,
      actions: ['Use a registry on a routable (or loopback) address that answers without redirecting orx elsewhere.'],
      cause: err,
    });
  }

  private unreachable(err: unknown, url: string): RegistryError {
    const detail = causeText(err);
    const timedOut = detail === 'timed out';
    return new RegistryError({
      code: 'registry_unreachable',
      reason: `registry unreachable: ${this.registry}: ${timedOut ? `no answer within ${Math.round(this.timeoutMs / 100) / 10}s` : detail}`,
      message: `cannot reach the registry ${this.registry} (${new URL(url).origin}): ${timedOut ? `no answer within ${Math.round(this.timeoutMs / 100) / 10}s` : detail}`,
      actions: [
        isLoopbackRegistry(this.registry)
          ? `Start the registry on ${this.registry}.`
          : `Check the network and that ${this.registry} serves the Registry v2 API over https.`,
      ],
      cause: err,
    });
  }

  /** One HTTP exchange with a deadline; the body is left for the caller to read under the same deadline. */
  async request(path: string, init: RequestInit2): Promise<Response> {
    const url = /^https?:\/\//.test(path) ? path : `${this.baseUrl}${path}`;
    const sameOrigin = new URL(url).origin === new URL(this.baseUrl).origin;
    const send = async (token?: string): Promise<Response> => {
      const headers: Record<string, string> = {'User-Agent': 'orchestrix', ...init.headers};
      if (token && sameOrigin) headers.Authorization = `Bearer ${token}`;
      try {
        return await this.fetch(url, {
          method: init.method ?? 'GET',
          headers,
          body: init.body,
          chosenBy: sameOrigin ? 'operator' : 'server',
        });
      } catch (err) {
        if (err instanceof OutboundRefusal) throw this.refused(err);
        throw this.unreachable(err, url);
      }
    };
    const scopeKey = init.scope ?? '';
    let res = await send(this.tokens.get(scopeKey));
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers.get('www-authenticate'));
      if (challenge?.scheme === 'bearer' && challenge.params.realm) {
        // no token yet, or the cached one expired: ask for a fresh anonymous one, once
        this.tokens.delete(scopeKey);
        const token = await this.anonymousToken(challenge, init.scope);
        if (token) {
          await res.body?.cancel().catch(() => undefined);
          this.tokens.set(scopeKey, token);
          res = await send(token);
        }
      }
    }
    if (res.ok || init.expect?.includes(res.status)) return res;
    throw await this.failure(res, init.what);
  }

  private async anonymousToken(challenge: Challenge, scope: string | undefined): Promise<string | null> {
    let url: URL;
    try {
      url = new URL(challenge.params.realm);
    } catch {
      return null;
    }
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    const wanted = scope ?? challenge.params.scope;
    if (wanted) url.searchParams.set('scope', wanted);
    let res: Response;
    try {
      // the realm is the registry's choice, so it is held to the same rules as a redirect
      res = await this.fetch(url.toString(), {headers: {'User-Agent': 'orchestrix'}, chosenBy: 'server'});
    } catch (err) {
      if (err instanceof OutboundRefusal) throw this.refused(err);
      throw this.unreachable(err, url.toString());
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      return null;
    }
    try {
      const body = JSON.parse((await readBody(res, 64 * 1024, 'token', this.registry)).toString('utf8')) as {
        token?: unknown;
        access_token?: unknown;
      };
      const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : null;
      return token;
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      return null;
    }
  }

  private async failure(res: Response, what: string): Promise<RegistryError> {
    let detail = '';
    try {
      const text = (await readBody(res, MAX_ERROR_BODY, 'error', this.registry)).toString('utf8');
      try {
        const body = JSON.parse(text) as {errors?: Array<{code?: string; message?: string}>};
        detail = (body.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
      } catch {
        detail = text.trim();
      }
    } catch {
      // the status says enough
    }
    detail = preview(detail, 200);
    const status = res.status;
    const suffix = detail ? ` (${detail})` : '';
    if (status === 401 || status === 403) {
      return new RegistryError({
        code: 'registry_auth',
        status,
        reason: `registry refused access: ${this.registry} answered ${status} for ${what}`,
        message: `${this.registry} refused ${what} without credentials (HTTP ${status})${suffix}`,
        actions: [
          'orx talks to registries anonymously: use a registry (or repository) that allows anonymous access, e.g. a local registry on 127.0.0.1.',
        ],
      });
    }
    if (status === 404) {
      return new RegistryError({
        code: 'registry_not_found',
        status,
        reason: `not found: ${what}`,
        message: `${this.registry}: ${what} not found (HTTP 404)${suffix}`,
      });
    }
    return new RegistryError({
      code: 'registry_error',
      status,
      reason: `registry error: ${this.registry} answered ${status} for ${what}`,
      message: `${this.registry} answered HTTP ${status} for ${what}${suffix}`,
    });
  }

  private pullScope(repository: string): string {
    return `repository:${repository}:pull`;
  }

  private pushScope(repository: string): string {
    return `repository:${repository}:pull,push`;
  }

  /** Checks the registry speaks the v2 API (GET /v2/); 401 counts as speaking it. */
  async ping(): Promise<void> {
    const res = await this.request('/v2/', {what: 'the API root /v2/', expect: [401]});
    await res.body?.cancel().catch(() => undefined);
  }

  /** The digest of a manifest by tag or digest, or null when there is none. HEAD first, GET when the header is missing. */
  async manifestDigest(repository: string, reference: string): Promise<string | null> {
    const what = `manifest ${repository}:${reference}`;
    const res = await this.request(`/v2/${repository}/manifests/${reference}`, {
      method: 'HEAD',
      headers: {Accept: MANIFEST_ACCEPT},
      scope: this.pullScope(repository),
      expect: [404],
      what,
    });
    if (res.status === 404) return null;
    const header = res.headers.get('docker-content-digest');
    if (header && isDigest(header)) return header;
    const got = await this.getManifest(repository, reference);
    return got?.digest ?? null;
  }

  /** Fetches and parses a manifest; checks its bytes against the digest asked for (or the one the registry claims). */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest | null> {
    const what = `manifest ${repository}:${reference}`;
    const res = await this.request(`/v2/${repository}/manifests/${reference}`, {
      headers: {Accept: MANIFEST_ACCEPT},
      scope: this.pullScope(repository),
      expect: [404],
      what,
    });
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      return null;
    }
    const bytes = await readBody(res, MAX_MANIFEST_BYTES, 'manifest', this.registry);
    const digest = sha256Digest(bytes);
    const claimed = res.headers.get('docker-content-digest');
    const expected = isDigest(reference) ? reference : claimed && isDigest(claimed) ? claimed : null;
    if (expected && expected !== digest) {
      throw new RegistryError({
        code: 'registry_bad_response',
        reason: `registry sent a manifest that does not match its digest`,
        message: `${this.registry} sent ${what} with digest ${digest}, expected ${expected}`,
      });
    }
    let manifest: Manifest;
    try {
      manifest = JSON.parse(bytes.toString('utf8')) as Manifest;
      if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) throw new Error('not an object');
    } catch (err) {
      throw new RegistryError({
        code: 'registry_bad_response',
        reason: 'registry sent a manifest that is not JSON',
        message: `${this.registry} sent ${what} that is not a JSON object: ${causeText(err)}`,
      });
    }
    const mediaType = manifest.mediaType ?? (res.headers.get('content-type') ?? '').split(';')[0].trim();
    return {digest, mediaType, bytes, manifest};
  }

  /** Stores a manifest under a tag (or digest); returns its digest. */
  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const what = `upload of manifest ${repository}:${reference}`;
    const res = await this.request(`/v2/${repository}/manifests/${reference}`, {
      method: 'PUT',
      headers: {'Content-Type': mediaType},
      body: bytes,
      scope: this.pushScope(repository),
      what,
    });
    await res.body?.cancel().catch(() => undefined);
    const digest = sha256Digest(bytes);
    const claimed = res.headers.get('docker-content-digest');
    if (claimed && isDigest(claimed) && claimed !== digest) {
      throw new RegistryError({
        code: 'registry_bad_response',
        reason: 'registry stored a different manifest than sent',
        message: `${this.registry} stored ${repository}:${reference} as ${claimed}, but orx sent ${digest}`,
      });
    }
    return digest;
  }

  async blobExists(repository: string, digest: string): Promise<boolean> {
    const res = await this.request(`/v2/${repository}/blobs/${digest}`, {
      method: 'HEAD',
      scope: this.pullScope(repository),
      expect: [404],
      what: `blob ${repository}@${digest}`,
    });
    await res.body?.cancel().catch(() => undefined);
    return res.status !== 404;
  }

  /** Fetches a blob (up to `maxBytes`) and checks it against its digest; null when the registry has none. */
  async getBlob(repository: string, digest: string, maxBytes = MAX_MANIFEST_BYTES): Promise<Buffer | null> {
    const what = `blob ${repository}@${digest}`;
    const res = await this.request(`/v2/${repository}/blobs/${digest}`, {scope: this.pullScope(repository), expect: [404], what});
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      return null;
    }
    const bytes = await readBody(res, maxBytes, 'blob', this.registry);
    const got = sha256Digest(bytes);
    if (got !== digest) {
      throw new RegistryError({
        code: 'registry_bad_response',
        reason: 'registry sent a blob that does not match its digest',
        message: `${this.registry} sent ${what} whose content has digest ${got}`,
      });
    }
    return bytes;
  }

  /** Uploads a blob (monolithic: POST then PUT ?digest=), skipping it when the registry already has it. */
  async pushBlob(repository: string, bytes: Buffer): Promise<{digest: string; size: number}> {
    const digest = sha256Digest(bytes);
    const desc = {digest, size: bytes.length};
    if (await this.blobExists(repository, digest)) return desc;
    const what = `upload of blob ${repository}@${digest}`;
    const start = await this.request(`/v2/${repository}/blobs/uploads/`, {method: 'POST', scope: this.pushScope(repository), what});
    await start.body?.cancel().catch(() => undefined);
    const location = start.headers.get('location');
    if (!location)
      throw new RegistryError({
        code: 'registry_bad_response',
        reason: 'registry sent no upload location',
        message: `${this.registry} started an upload for ${repository} but sent no Location header`,
      });
    const url = new URL(location, this.baseUrl);
    url.searchParams.set('digest', digest);
    const put = await this.request(url.toString(), {
      method: 'PUT',
      headers: {'Content-Type': 'application/octet-stream'},
      body: bytes,
      scope: this.pushScope(repository),
      what,
    });
    await put.body?.cancel().catch(() => undefined);
    return desc;
  }

  /** Tags of a repository (one page of up to `max`), or [] when the repository is unknown. */
  async listTags(repository: string, max = 1000): Promise<string[]> {
    const res = await this.request(`/v2/${repository}/tags/list?n=${max}`, {
      scope: this.pullScope(repository),
      expect: [404],
      what: `tag list of ${repository}`,
    });
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      return [];
    }
    const bytes = await readBody(res, MAX_MANIFEST_BYTES, 'tag list', this.registry);
    try {
      const body = JSON.parse(bytes.toString('utf8')) as {tags?: unknown};
      return Array.isArray(body.tags) ? body.tags.filter((t): t is string => typeof t === 'string') : [];
    } catch {
      throw new RegistryError({
        code: 'registry_bad_response',
        reason: 'registry sent a tag list that is not JSON',
        message: `${this.registry} sent a tag list for ${repository} that is not JSON`,
      });
    }
  }
}

const clients = new Map<string, RegistryClient>();

/** A client per registry (and timeout), so anonymous tokens are reused within a process. */
export function registryClient(registry: string, opts: RegistryOptions = {}): RegistryClient {
  const key = `${registry}\u0000${opts.timeoutMs ?? ''}`;
  let c = clients.get(key);
  if (!c) {
    c = new RegistryClient(registry, opts);
    clients.set(key, c);
  }
  return c;
}

/**
 * The manifest digest (sha256:…) a reference names in its registry: the digest itself
 * when the reference carries one (after checking the registry has it), otherwise what
 * the tag points at now. A missing image is a `registry_not_found` RegistryError.
 */
export async function resolveDigest(ref: string, opts: RegistryOptions = {}): Promise<string> {
  const r = parseReference(ref);
  const client = registryClient(r.registry, opts);
  const reference = r.digest ?? r.tag!;
  const digest = await client.manifestDigest(r.repository, reference);
  if (!digest) {
    throw new RegistryError({
      code: 'registry_not_found',
      status: 404,
      reason: `image not found: ${formatReference(r)}`,
      message: `${formatReference(r)} is not in the registry ${r.registry}`,
      actions: ['Push the image first, or check the repository, tag and digest.'],
    });
  }
  return digest;
}
