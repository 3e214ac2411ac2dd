// The shape of a compact JWS (three base64url parts), written once for the places that must
// recognise a token: where a jti was asked for, and before anything is recorded in the ledger.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
// unanchored, with parts long enough that dotted names and versions do not match
const JWS_INSIDE = /[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/;

/** The whole text is a compact JWS (a token pasted where its jti was asked for, say). */
export function looksLikeJwt(text: string): boolean {
  return COMPACT_JWS.test(text.trim());
}

/** A token stands somewhere in the text: refused by what would record it. */
export function containsJwt(text: string): boolean {
  return JWS_INSIDE.test(text);
}
