// What an apply that did not finish says on stdout: what was done, what was put back as it
// was, what could not be put back (in red, naming what was left), and what was not done.
import {c} from './color.js';

export interface SummaryStep {
  address: string;
  action: string;
  status: string;
  error?: string;
  rollback_failed?: boolean;
  destroyed?: boolean;
}

export function unfinishedSummary(headline: string, steps: SummaryStep[]): string {
  const list = (xs: SummaryStep[], detail: boolean): string =>
    xs.map((s) => `${s.address} ${s.action}${detail && s.error ? ` (${s.error})` : ''}`).join(', ');
  const done = steps.filter((s) => s.status === 'succeeded');
  const rolledBack = steps.filter((s) => s.status === 'rolled_back');
  // the old object is gone or something was left behind: the one thing an operator must act on
  const broken = steps.filter((s) => s.rollback_failed || s.destroyed);
  const notDone = steps.filter((s) => s.status !== 'succeeded' && s.status !== 'rolled_back' && !broken.includes(s));
  const lines = [headline];
  // "nothing" only when nothing was touched: a rolled-back step touched a running container
  if (done.length > 0 || (rolledBack.length === 0 && broken.length === 0))
    lines.push(`Done (${done.length}): ${list(done, false) || 'nothing'}`);
  if (rolledBack.length > 0) lines.push(`Rolled back (${rolledBack.length}), the old version runs as before: ${list(rolledBack, true)}`);
  for (const s of broken) {
    const what = s.rollback_failed
      ? 'failed and could not be rolled back'
      : 'failed after its old object was removed: it is gone until the next apply';
    lines.push(c.red(`${s.address} ${s.action} ${what}: ${s.error ?? 'see the ledger'}`));
  }
  if (notDone.length > 0 || (rolledBack.length === 0 && broken.length === 0))
    lines.push(
      `Not done (${notDone.length}): ${notDone.map((s) => `${s.address} ${s.action} ${s.status}${s.error ? ` (${s.error})` : ''}`).join(', ')}`,
    );
  lines.push('The ledger records all of it; run `orx plan` to see what is left.');
  return lines.join('\n');
}
