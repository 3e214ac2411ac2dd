// A container user ("name|uid[:group|gid]") as the numbers the kernel sees. Docker parses ids
// with Go's strconv.Atoi, so "00", "+0" and "0:x" are all uid 0: every root check compares
// these numbers, never the text.

/** What a user string says about the uid and gid; null: not knowable without the image's /etc/passwd. */
export interface NumericUser {
  uid: number | null;
  gid: number | null;
}

/** Name -> ids, as an image's /etc/passwd (users) or /etc/group (groups) maps them. */
export type IdTable = ReadonlyMap<string, number>;

// the largest id the engine takes (a larger number could wrap around to 0 in a 32-bit uid_t)
export const MAX_ID = 2 ** 31 - 1;

function numericPart(text: string): number | null {
  const t = text.trim();
  if (!/^\+?\d+$/.test(t)) return null;
  const n = Number(t.replace(/^\+/, ''));
  return Number.isSafeInteger(n) && n <= MAX_ID ? n : null;
}

function idOf(text: string, names: IdTable | undefined): number | null {
  const n = numericPart(text);
  if (n !== null) return n;
  const name = text.trim();
  if (name === 'root') return 0;
  return names?.get(name) ?? null;
}

/**
 * `user` as numbers. '' (an image with no USER) is root. A name resolves through `users`
 * (the image's passwd) when given, 'root' always to 0; a group absent from the string is the
 * user's primary group, which only the passwd knows (null without it, 0 for root).
 */
export function numericUser(
  user: string | null | undefined,
  tables: {users?: IdTable; groups?: IdTable; primaryGroups?: IdTable} = {},
): NumericUser {
  if (user === null || user === undefined) return {uid: null, gid: null};
  const colon = user.indexOf(':');
  const userPart = colon === -1 ? user : user.slice(0, colon);
  const groupPart = colon === -1 ? null : user.slice(colon + 1);
  if (userPart.trim() === '') return {uid: 0, gid: groupPart === null ? 0 : idOf(groupPart, tables.groups)};
  const uid = idOf(userPart, tables.users);
  let gid: number | null;
  if (groupPart !== null) gid = idOf(groupPart, tables.groups);
  else if (uid === 0 && userPart.trim() === 'root') gid = 0;
  else gid = numericPart(userPart) !== null ? uid : (tables.primaryGroups?.get(userPart.trim()) ?? null);
  return {uid, gid};
}

/** A numeric part too large to be an id, which some engines would wrap around (to 0, say). */
export function outOfRangeId(user: string): string | null {
  for (const part of user.split(':')) {
    const t = part.trim();
    if (/^\+?\d+$/.test(t) && !(Number(t.replace(/^\+/, '')) <= MAX_ID)) return t;
  }
  return null;
}

/** /etc/passwd text -> name -> uid and name -> primary gid (malformed lines are skipped). */
export function parsePasswd(text: string): {users: Map<string, number>; primaryGroups: Map<string, number>} {
  const users = new Map<string, number>();
  const primaryGroups = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || f[0] === '' || line.startsWith('#')) continue;
    const uid = numericPart(f[2]);
    const gid = numericPart(f[3]);
    if (uid === null || users.has(f[0])) continue;
    users.set(f[0], uid);
    if (gid !== null) primaryGroups.set(f[0], gid);
  }
  return {users, primaryGroups};
}
