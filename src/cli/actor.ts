import os from 'node:os';

/**
 * Who is running orx, as recorded on runs, approvals and events: ORX_ACTOR (a CI job names
 * its pipeline), else the login name the shell gives (USER), else the account's name. One
 * answer for every command, so an approval is recorded under the same name as its run.
 */
export function currentActor(env: NodeJS.ProcessEnv = process.env): string {
  const named = env.ORX_ACTOR?.trim() || env.USER?.trim();
  if (named) return named;
  try {
    return os.userInfo().username;
  } catch {
    // an account with no passwd entry (a container started with --user 12345)
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}
