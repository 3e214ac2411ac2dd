// The baseline that ships inside orx: always loaded before the workspace's policies/, so no
// workspace loses it by omission. Read from src/policy/builtin/ (the build copies it to dist/).
import {readFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';

/** How decisions, diagnostics and `orx policy test` name the built-in files. */
export const BUILTIN_POLICY_FILE = 'orx:baseline.yaml';
export const BUILTIN_TEST_FILE = 'orx:baseline_test.yaml';

const policyUrl = new URL('../policy/builtin/baseline.yaml', import.meta.url);
const testUrl = new URL('../policy/builtin/baseline_test.yaml', import.meta.url);

let text: string | undefined;

export function builtinPolicyText(): string {
  text ??= readFileSync(policyUrl, 'utf8');
  return text;
}

export function builtinTestPath(): string {
  return fileURLToPath(testUrl);
}

let ids: ReadonlySet<string> | undefined;

/**
 * The built-in rule ids, without compiling anything: config validation checks waivers against
 * them on every command, and the baseline's own layout (`  - id: NAME`) is fixed.
 */
export function builtinRuleIds(): ReadonlySet<string> {
  ids ??= new Set([...builtinPolicyText().matchAll(/^ {2}- id: ([a-z0-9-]+)\s*$/gm)].map((m) => m[1]));
  return ids;
}

export function isBuiltinRule(rule: {file: string}): boolean {
  return rule.file === BUILTIN_POLICY_FILE;
}
