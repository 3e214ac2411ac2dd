// Outbound HTTP(S) for the registry client, with the destination checked before any
// connection: the host (or every address its name resolves to) is classified, the request
// is pinned to the checked address (no second DNS answer can move it), and redirects are
// followed here, one hop at a time, under the same checks. What a registry's answer may
// point at is judged against where the registry itself is, so that a registry (or whoever
// controls its redirects and token realm) cannot turn orx into a probe of the operator's
// own networks or of a cloud metadata service.
import {lookup} from 'node:dns/promises';
import http from 'node:http';
import type {LookupFunction} from 'node:net';
import https from 'node:https';
import {Readable} from 'node:stream';
import {
  classifyAddress,
  describeClass,
  formatAddress,
  INTERNAL,
  NEVER_CONTACTED,
  parseAddress,
  type AddressClass,
} from '../util/address-class.js';

export const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** One resolved address of a host. */
export interface Resolved {
  address: string;
  family: 4 | 6;
}

/** Name -> addresses; tests may give their own (e.g. a name that resolves to 169.254.169.254). */
export type Resolver = (host: string) => Promise<Resolved[]>;

export const systemResolver: Resolver = async (host) =>
  (await lookup(host, {all: true, verbatim: true})).map((a) => ({address: a.address, family: a.family === 6 ? 6 : 4}));

/** Where the registry itself is: what the URLs in its answers are judged against. */
export interface Home {
  scheme: 'http:' | 'https:';
  cls: AddressClass;
}

/** Why a destination was refused; the message names the address. */
export class OutboundRefusal extends Error {
  constructor(
    message: string,
    readonly address: string | null,
  ) {
    super(message);
    this.name = 'OutboundRefusal';
  }
}

/**
 * Whether a URL the server chose (a redirect, a token realm, an upload location) may be
 * followed from a registry at `home`: never to a place no request goes; from a loopback
 * registry only back to loopback; from any other only to public addresses, or to internal
 * ones when the registry is itself internal; http only where the registry itself was plain
 * http (loopback). Returns why not, or null.
 */
export function serverChosenRefusal(home: Home, scheme: string, cls: AddressClass): string | null {
  if (scheme !== 'https:' && !(scheme === 'http:' && home.scheme === 'http:'))
    return `it is ${scheme.replace(/:$/, '')}, and orx follows a registry only to https`;
  if (NEVER_CONTACTED.has(cls)) return `it is ${describeClass(cls)}`;
  if (home.cls === 'loopback')
    return cls === 'loopback' ? null : `it is ${describeClass(cls)}, and a registry on loopback is followed only to loopback`;
  if (cls === 'loopback') return `it is ${describeClass(cls)}, and only a registry on loopback is followed there`;
  if (INTERNAL.has(cls) && !INTERNAL.has(home.cls))
    return `it is ${describeClass(cls)}, and a registry on ${describeClass(home.cls)} is not followed into internal networks`;
  return null;
}

function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/** The addresses a URL's host stands for, each classified; nothing is contacted. */
export async function destination(url: URL, resolve: Resolver): Promise<Array<Resolved & {cls: AddressClass}>> {
  const host = hostOf(url);
  const literal = parseAddress(host);
  if (literal) return [{address: formatAddress(literal), family: literal.family, cls: classifyAddress(host)!}];
  let found: Resolved[];
  try {
    found = await resolve(host);
  } catch (err) {
    throw Object.assign(new Error('fetch failed'), {cause: err});
  }
  if (found.length === 0)
    throw Object.assign(new Error('fetch failed'), {cause: Object.assign(new Error(`${host} has no address`), {code: 'ENOTFOUND'})});
  return found.map((r) => ({...r, cls: classifyAddress(r.address) ?? 'reserved'}));
}

export interface OutboundInit {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  signal: AbortSignal;
  /** operator: the registry as configured; server: a URL from a registry's answer, judged against `home` */
  chosenBy: 'operator' | 'server';
  /** where the registry is (required for server-chosen URLs; redirects are judged against it) */
  home?: Home;
  resolve?: Resolver;
  /** told where the first hop went, once checked: the registry's home */
  onHome?: (home: Home) => void;
}

function checkHop(
  url: URL,
  addresses: Array<Resolved & {cls: AddressClass}>,
  by: 'operator' | 'server',
  home: Home | undefined,
  what: string,
): void {
  const host = hostOf(url);
  for (const a of addresses) {
    const shown = parseAddress(host) ? a.address : `${host} (${a.address})`;
    if (by === 'operator') {
      if (NEVER_CONTACTED.has(a.cls))
        throw new OutboundRefusal(
          `refusing to contact ${what} ${shown}: it is ${describeClass(a.cls)}; orx never sends requests to link-local, metadata, multicast or unspecified addresses`,
          a.address,
        );
    } else {
      const why = serverChosenRefusal(home!, url.protocol, a.cls);
      if (why) throw new OutboundRefusal(`refusing to follow ${what} to ${url.protocol}//${shown}: ${why}`, a.address);
    }
  }
}

function pinnedLookup(pinned: Resolved): LookupFunction {
  return ((_name: string, opts: {all?: boolean}, cb: (err: null, address: unknown, family?: number) => void) => {
    if (opts.all) cb(null, [{address: pinned.address, family: pinned.family}]);
    else cb(null, pinned.address, pinned.family);
  }) as LookupFunction;
}

function send(
  url: URL,
  pinned: Resolved,
  init: {method: string; headers: Record<string, string>; body?: Buffer; signal: AbortSignal},
): Promise<Response> {
  const mod = url.protocol === 'https:' ? https : http;
  const host = hostOf(url);
  const headers: Record<string, string> = {...init.headers};
  if (init.body) headers['content-length'] = String(init.body.length);
  else if (init.method === 'POST' || init.method === 'PUT') headers['content-length'] = '0';
  return new Promise((resolve, reject) => {
    const req = mod.request(
      {
        protocol: url.protocol,
        hostname: host,
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: init.method,
        headers,
        signal: init.signal,
        agent: false,
        // the address that was checked, and no other: a name is not looked up a second time
        lookup: pinnedLookup(pinned),
        ...(url.protocol === 'https:' && !parseAddress(host) ? {servername: host} : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const h = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
        const noBody = init.method === 'HEAD' || status === 204 || status === 205 || status === 304;
        if (noBody) res.resume();
        if (status < 200 || status > 599) {
          res.destroy();
          reject(Object.assign(new Error('fetch failed'), {cause: new Error(`unexpected HTTP status ${status}`)}));
          return;
        }
        resolve(
          new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
            status,
            statusText: res.statusMessage ?? '',
            headers: h,
          }),
        );
      },
    );
    // shaped like fetch's failure, so callers read the cause the same way
    req.on('error', (err) => reject(Object.assign(new Error('fetch failed'), {cause: err})));
    req.end(init.body);
  });
}

// no request was sent to an address that refused the connection: the next one may be tried
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EAFNOSUPPORT']);

/** Like a resolver-driven connect (localhost may be ::1 then 127.0.0.1), over checked addresses only. */
async function sendToFirstAnswering(url: URL, addresses: Resolved[], init: Parameters<typeof send>[2]): Promise<Response> {
  let last: unknown;
  for (const a of addresses) {
    try {
      return await send(url, a, init);
    } catch (err) {
      last = err;
      const code = ((err as {cause?: NodeJS.ErrnoException}).cause ?? {}).code;
      if (!code || !NOT_CONNECTED.has(code) || init.signal.aborted) throw err;
    }
  }
  throw last;
}

/**
 * One request, its redirects followed here (at most MAX_REDIRECTS), every hop checked before
 * it connects. Throws OutboundRefusal for a refused destination, or an Error shaped like
 * fetch's (`cause` holding the system error) when the network fails.
 */
export async function outboundFetch(url: string, init: OutboundInit): Promise<Response> {
  const resolve = init.resolve ?? systemResolver;
  let current = new URL(url);
  let method = init.method ?? 'GET';
  let body = init.body;
  let headers = {...(init.headers ?? {})};
  let by = init.chosenBy;
  let home = init.home;
  const origin = current.origin;
  for (let hop = 0; ; hop++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:')
      throw new OutboundRefusal(`refusing to follow a redirect to ${current.protocol}//${current.host}: only http(s) is followed`, null);
    const addresses = await destination(current, resolve);
    checkHop(current, addresses, by, home, by === 'operator' ? 'the registry' : hop === 0 ? 'a registry URL' : 'a redirect');
    if (by === 'operator') {
      home = {scheme: current.protocol, cls: addresses[0].cls};
      init.onHome?.(home);
    }
    const res = await sendToFirstAnswering(current, addresses, {method, headers, body, signal: init.signal});
    const location = res.headers.get('location');
    if (!REDIRECTS.has(res.status) || !location) return res;
    await res.body?.cancel().catch(() => undefined);
    if (hop + 1 > MAX_REDIRECTS) throw new OutboundRefusal(`refusing to follow more than ${MAX_REDIRECTS} redirects from ${origin}`, null);
    const next = new URL(location, current);
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = undefined;
    }
    // credentials stay with the origin they were given for
    if (next.origin !== current.origin)
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
    current = next;
    by = 'server';
  }
}
