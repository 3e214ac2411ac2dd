// A kubeconfig named in orchestration.yml is the repository's choice, and kubectl runs a user's
// `exec` command or `auth-provider` plugin whenever it talks to the cluster, `orx plan` included.
// Such users are refused here; the operator's own kubeconfig ($KUBECONFIG, ~/.kube/config, used
// when the file names none) is theirs to configure.
import {parse} from 'yaml';
import {FileReadError, readBoundedText} from '../util/bounded-file.js';
import {scanYaml} from './yaml-guard.js';

const MAX_KUBECONFIG_BYTES = 1024 * 1024;

/** Why kubectl would run code from this kubeconfig; null when it would not (or the file is not there yet: kubectl says so). */
export function commandRunningUser(file: string, label: string): string | null {
  let text: string;
  try {
    text = readBoundedText(file, MAX_KUBECONFIG_BYTES, {label});
  } catch (err) {
    if (err instanceof FileReadError && err.reason === 'missing') return null;
    if (err instanceof FileReadError) return err.message;
    throw err;
  }
  if (scanYaml(text)) return `${label} is not a kubeconfig orx can read safely`;
  let doc: unknown;
  try {
    doc = parse(text, {maxAliasCount: 100});
  } catch {
    return `${label} is not valid YAML`;
  }
  const users = (doc as {users?: unknown} | null)?.users;
  if (!Array.isArray(users)) return null;
  for (const u of users) {
    const user = (u as {user?: Record<string, unknown>; name?: unknown} | null)?.user;
    if (!user || typeof user !== 'object') continue;
    const what = 'exec' in user ? 'an exec credential plugin' : 'auth-provider' in user ? 'an auth-provider' : null;
    if (what)
      return `user ${JSON.stringify(String((u as {name?: unknown}).name ?? '?')).slice(0, 80)} in ${label} runs ${what}, which kubectl would run during orx plan`;
  }
  return null;
}
