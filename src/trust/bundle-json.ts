/**
 * Strict reading of a serialized Sigstore bundle (the protobuf JSON mapping, camelCase),
 * before it is handed to @sigstore/bundle. protobuf-specs' `fromJSON` is lenient: it drops
 * unknown fields and decodes base64 forgivingly, so a renamed field or a changed padding bit
 * would parse to the same bundle. Like sigstore-go (protojson), orx refuses both.
 */

type Spec = 'string' | 'bytes' | 'int64' | {enum: readonly string[]} | {array: Spec} | {object: {[k: string]: Spec}};

const HASH_ALGORITHMS = ['SHA2_256', 'SHA2_384', 'SHA2_512'] as const;

const TLOG_ENTRY: Spec = {
  object: {
    logIndex: 'int64',
    logId: {object: {keyId: 'bytes'}},
    kindVersion: {object: {kind: 'string', version: 'string'}},
    integratedTime: 'int64',
    inclusionPromise: {object: {signedEntryTimestamp: 'bytes'}},
    inclusionProof: {
      object: {
        logIndex: 'int64',
        rootHash: 'bytes',
        treeSize: 'int64',
        hashes: {array: 'bytes'},
        checkpoint: {object: {envelope: 'string'}},
      },
    },
    canonicalizedBody: 'bytes',
  },
};

const CERT: Spec = {object: {rawBytes: 'bytes'}};

const BUNDLE: Spec = {
  object: {
    mediaType: 'string',
    verificationMaterial: {
      object: {
        publicKey: {object: {hint: 'string'}},
        x509CertificateChain: {object: {certificates: {array: CERT}}},
        certificate: CERT,
        tlogEntries: {array: TLOG_ENTRY},
        timestampVerificationData: {object: {rfc3161Timestamps: {array: {object: {signedTimestamp: 'bytes'}}}}},
      },
    },
    messageSignature: {
      object: {messageDigest: {object: {algorithm: {enum: HASH_ALGORITHMS}, digest: 'bytes'}}, signature: 'bytes'},
    },
    dsseEnvelope: {object: {payload: 'bytes', payloadType: 'string', signatures: {array: {object: {sig: 'bytes', keyid: 'string'}}}}},
  },
};

/** Thrown with the JSON path of the offending field. */
export class BundleShapeError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Standard base64 with padding, and nothing decoded away (no stray characters, no non-zero spare bits). */
export function isCanonicalBase64(s: string): boolean {
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s) && Buffer.from(s, 'base64').toString('base64') === s;
}

function check(value: unknown, spec: Spec, at: string): void {
  if (spec === 'string') {
    if (typeof value !== 'string') throw new BundleShapeError(at, `${at} must be a string, got ${typeName(value)}`);
  } else if (spec === 'bytes') {
    if (typeof value !== 'string') throw new BundleShapeError(at, `${at} must be a base64 string, got ${typeName(value)}`);
    if (!isCanonicalBase64(value)) throw new BundleShapeError(at, `${at} is not valid base64`);
  } else if (spec === 'int64') {
    const ok =
      (typeof value === 'string' && /^(0|[1-9][0-9]{0,18})$/.test(value)) ||
      (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0);
    if (!ok) throw new BundleShapeError(at, `${at} must be a non-negative integer, got ${typeName(value)}`);
  } else if ('enum' in spec) {
    if (typeof value !== 'string' || !spec.enum.includes(value)) {
      throw new BundleShapeError(
        at,
        `${at} must be one of ${spec.enum.join(', ')}, got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeName(value)}`,
      );
    }
  } else if ('array' in spec) {
    if (!Array.isArray(value)) throw new BundleShapeError(at, `${at} must be an array, got ${typeName(value)}`);
    value.forEach((v, i) => check(v, spec.array, `${at}[${i}]`));
  } else {
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new BundleShapeError(at, `${at} must be an object, got ${typeName(value)}`);
    for (const [k, v] of Object.entries(value)) {
      const sub = Object.hasOwn(spec.object, k) ? spec.object[k] : undefined;
      const where = at ? `${at}.${k}` : k;
      if (!sub) throw new BundleShapeError(where, `unknown field ${JSON.stringify(k.slice(0, 60))}${at ? ` in ${at}` : ''}`);
      check(v, sub, where);
    }
  }
}

/** Checks a parsed bundle document against the Sigstore bundle JSON shape; throws BundleShapeError. */
export function assertBundleShape(doc: unknown): asserts doc is Record<string, unknown> {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new BundleShapeError('', `a bundle must be a JSON object, got ${typeName(doc)}`);
  check(doc, BUNDLE, '');
  const d = doc as Record<string, Record<string, unknown> | undefined>;
  if (typeof d.mediaType !== 'string') throw new BundleShapeError('mediaType', 'mediaType is missing');
  const contents = ['messageSignature', 'dsseEnvelope'].filter((k) => d[k] !== undefined);
  if (contents.length !== 1)
    throw new BundleShapeError(
      '',
      contents.length === 0
        ? 'the bundle holds no signature (no messageSignature or dsseEnvelope)'
        : 'the bundle holds both a messageSignature and a dsseEnvelope',
    );
  const vm = d.verificationMaterial;
  if (!vm) throw new BundleShapeError('verificationMaterial', 'verificationMaterial is missing');
  const material = ['publicKey', 'x509CertificateChain', 'certificate'].filter((k) => vm[k] !== undefined);
  if (material.length !== 1) {
    throw new BundleShapeError(
      'verificationMaterial',
      material.length === 0
        ? 'verificationMaterial names no key or certificate'
        : `verificationMaterial holds more than one of ${material.join(', ')}`,
    );
  }
}
