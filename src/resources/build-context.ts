import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {listContextFiles} from '../config/build-context.js';
import {OrxError} from '../errors.js';
import {FileReadError, streamRegularFile} from '../util/bounded-file.js';

export interface ContextFiles {
  files: string[];
  digest: string;
}

function contextRefused(contextPath: string, why: string): OrxError {
  return new OrxError({
    code: 'build_context_invalid',
    message: `build context ${contextPath} cannot be sent to Docker: ${why}`,
    actions: ['Remove the file from the build context, then run `orx plan` again.'],
  });
}

/**
 * The files Docker will receive (after .dockerignore, as dockerode applies it) and one
 * digest over their paths, modes and contents: the image is rebuilt exactly when this
 * digest changes, and apply refuses a build whose context moved since the plan.
 */
export function readBuildContext(contextPath: string, dockerfile: string, args: Record<string, string>): ContextFiles {
  const listed = listContextFiles(contextPath, contextPath);
  if (!listed.ok) throw contextRefused(contextPath, listed.error);
  const {files} = listed;
  const h = createHash('sha256');
  h.update(JSON.stringify({dockerfile, args}));
  for (const f of files) {
    const abs = path.join(contextPath, f);
    const st = fs.lstatSync(abs);
    h.update(`\0${f}\0${st.mode & 0o111 ? 'x' : '-'}\0`);
    if (st.isSymbolicLink()) h.update(`->${fs.readlinkSync(abs)}`);
    else {
      try {
        // chunked and non-blocking: a FIFO swapped in after the listing is refused, not waited on
        streamRegularFile(abs, (chunk) => h.update(chunk), {label: JSON.stringify(f)});
      } catch (err) {
        if (err instanceof FileReadError) throw contextRefused(contextPath, err.message);
        throw err;
      }
    }
  }
  return {files, digest: h.digest('hex')};
}
