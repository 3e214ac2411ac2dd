import fs from 'node:fs';
import path from 'node:path';

/** Written whole or not at all (rename), readable by its owner only: plans, kubeconfigs, kind configs. */
export function writePrivateFile(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700});
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, {mode: 0o600});
  fs.renameSync(tmp, file);
}
