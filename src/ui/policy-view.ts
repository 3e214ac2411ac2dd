// How policy test runs read in a terminal.
import {preview} from '../errors.js';
import type {ActualDecision, ExpectedDecision, PolicyTestCaseResult, PolicyTestReport} from '../policy/testing.js';

/** The pass/fail table `orx policy test` prints: NAME, RESULT, DETAILS, then a count. */
export function renderPolicyTestTable(report: PolicyTestReport): string {
  const multi = report.files.length > 1;
  const rows = report.cases.map((c) => ({
    name: preview(multi ? `${c.file.slice(c.file.lastIndexOf('/') + 1)}: ${c.name}` : c.name, 80),
    result: c.passed ? 'PASS' : 'FAIL',
    details: c.passed ? '' : failureDetails(c),
  }));
  const width = Math.max(4, ...rows.map((r) => r.name.length));
  const line = (a: string, b: string, c: string) => `${a.padEnd(width)}  ${b.padEnd(6)}  ${c}`.trimEnd();
  const out = [line('NAME', 'RESULT', 'DETAILS'), ...rows.map((r) => line(r.name, r.result, r.details))];
  const files = report.files.length;
  out.push(
    '',
    `${report.passed} passed, ${report.failed} failed (${report.cases.length} case${report.cases.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'})`,
  );
  return out.join('\n') + '\n';
}

function showDecision(d: ExpectedDecision | ActualDecision): string {
  const where = d.address === undefined ? '' : d.address === null ? ' (plan)' : ` ${d.address}`;
  return `${d.effect} ${d.rule}${where}`;
}

/** Why a case failed, in one line. */
export function failureDetails(c: PolicyTestCaseResult): string {
  const parts: string[] = [];
  if (c.error !== undefined) parts.push(`error: ${c.error}`);
  if (c.missing.length > 0) parts.push(`missing: ${c.missing.map(showDecision).join(', ')}`);
  if (c.unexpected.length > 0)
    parts.push(`unexpected: ${c.unexpected.map((d) => `${showDecision(d)} ("${preview(d.message, 100)}")`).join(', ')}`);
  return parts.join('; ');
}
