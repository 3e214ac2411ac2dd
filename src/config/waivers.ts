// `waivers:` in orchestration.yml: the only way past a built-in policy rule, one rule at one
// address, with a reason and an expiry. Checked here against the built-in rule ids and the
// addresses the file defines; whether one is in force is a question of the day (waiverInForce).
import {builtinRuleIds} from './builtin-policy.js';
import type {Problems} from './diagnostics.js';
import {entries, rec, str, type Raw} from './raw.js';
import {suggestion} from './suggest.js';
import type {Waiver} from './types.js';

/** Plan-scope rules (quotas, rates) are waived at this address. */
export const PLAN_ADDRESS = 'plan';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The waiver's last day, as the instant it ends (the end of that day, UTC); null when not a real date. */
export function waiverEnd(expires: string): Date | null {
  const m = DATE.exec(expires);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]) - 1, Number(m[3])];
  const day = new Date(Date.UTC(y, mo, d));
  // 2027-02-30 would roll over into March: not a date anyone meant
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo || day.getUTCDate() !== d) return null;
  return new Date(Date.UTC(y, mo, d + 1));
}

export function waiverInForce(w: Waiver, now: Date): boolean {
  const end = waiverEnd(w.expires);
  return end !== null && now.getTime() < end.getTime();
}

export function isWaived(waivers: readonly Waiver[], rule: string, address: string, now: Date): boolean {
  return waivers.some((w) => w.rule === rule && w.address === address && waiverInForce(w, now));
}

/** Every address orchestration.yml defines, for checking what a waiver names. */
export function configuredAddresses(raw: Raw): Set<string> {
  const out = new Set<string>([PLAN_ADDRESS]);
  for (const kind of ['agents', 'networks', 'volumes', 'images', 'clusters'] as const) {
    for (const [name] of entries(raw[kind])) out.add(`${kind.slice(0, -1)}.${name}`);
  }
  for (const [name] of entries(raw.manifests)) out.add(`manifests.${name}`);
  return out;
}

export function normalizeWaivers(raw: Raw, problems: Problems): Waiver[] {
  const list = Array.isArray(raw.waivers) ? raw.waivers : [];
  if (list.length === 0) return [];
  const rules = builtinRuleIds();
  const addresses = configuredAddresses(raw);
  const seen = new Set<string>();
  const out: Waiver[] = [];
  list.forEach((v, i) => {
    const w = rec(v);
    const rule = str(w?.rule);
    const address = str(w?.address);
    const reason = str(w?.reason);
    const expires = str(w?.expires);
    // the schema has already said what is missing or of the wrong type
    if (!w || rule === undefined || address === undefined || reason === undefined || expires === undefined) return;
    let ok = true;
    if (!rules.has(rule)) {
      ok = false;
      problems.add(
        ['waivers', i, 'rule'],
        `waiver for "${rule}": not a built-in rule${suggestion(rule, rules)}; a waiver passes one of orx's built-in rules (${[...rules].join(', ')}); a rule of your own in policies/ is changed there`,
      );
    }
    if (!addresses.has(address)) {
      ok = false;
      problems.add(
        ['waivers', i, 'address'],
        `waiver for ${rule}: ${address} is not defined in this file${suggestion(address, addresses)}; name the resource as plans do (agent.NAME, network.NAME, ...), or "plan" for a plan-wide rule`,
      );
    }
    if (reason.trim() === '') {
      ok = false;
      problems.add(
        ['waivers', i, 'reason'],
        `waiver for ${rule} at ${address}: the reason must say why (it is recorded with every run that uses it)`,
      );
    }
    if (waiverEnd(expires) === null) {
      ok = false;
      problems.add(
        ['waivers', i, 'expires'],
        `waiver for ${rule} at ${address}: expires must be a date like 2027-01-31 (the waiver holds through that day, UTC)`,
      );
    }
    const key = `${rule}\0${address}`;
    if (ok && seen.has(key)) {
      ok = false;
      problems.add(['waivers', i], `a second waiver for ${rule} at ${address}: keep one`);
    }
    seen.add(key);
    if (ok) out.push({rule, address, reason, expires});
  });
  return out;
}
