// The regular expressions the published schema uses, each with the words an error message
// uses for it. A unit test checks that every pattern in the schema has an entry here.
// All are anchored and free of nested quantifiers, so they run in linear time on hostile input.

export const NAME_PATTERN = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$';
export const NAME_RULE = 'use 1-63 lowercase letters, digits and "-", starting and ending with a letter or digit';

export const MEMORY_PATTERN = '^[0-9]{1,15}(\\.[0-9]{1,6})?([bB]|[kKmMgGtT]([iI]?[bB])?)?$';

export const PATTERN_HINTS: Record<string, string> = {
  [NAME_PATTERN]: `is not a valid name: ${NAME_RULE}`,
  '^[A-Za-z_][A-Za-z0-9_]*$': 'must start with a letter or "_" and hold only letters, digits and "_"',
  '^[A-Za-z_][A-Za-z0-9_.-]*$':
    'must start with a letter or "_" and hold only letters, digits, "_", "." and "-" (it becomes a file name in /run/secrets)',
  '^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$':
    'must hold only letters, digits, ".", "_", "/" and "-", starting and ending with a letter or digit',
  '^([0-9]{1,9}(ms|s|m|h))+$': 'must be a duration like "500ms", "5s", "1m" or "1m30s"',
  [MEMORY_PATTERN]: 'must be a size like "512m", "2g" or "2GiB", or a number of bytes',
  '^[0-9]{1,5}:[0-9]{1,5}(/(tcp|udp))?$': 'must look like "HOST:CONTAINER" or "HOST:CONTAINER/udp" (for example "18080:8080")',
  '^[0-9A-Fa-f:.]+$': 'must be an IP address such as "127.0.0.1" or "::1"',
  '^[a-z0-9-]{1,63}$': 'must be a rule id: lowercase letters, digits and "-" (e.g. deny-root-user)',
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}$': 'must be a date like "2027-01-31"',
  '^/[\\x21-\\x7e]*$': 'must be a URL path starting with "/" without spaces',
  '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$':
    'must be a user name or id, optionally with a group ("agent", "1000" or "1000:1000")',
  '^[0-9]{1,10}(:[0-9]{1,10})?$': 'must be a numeric uid or uid:gid (for example "1000:1000")',
  // Docker's reference grammar (distribution/reference) with mandatory separators, so no
  // backtracking blow-up: [registry[:port]/]path[:tag][@sha256:digest].
  '^(([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)(\\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:[0-9]{1,5})?/)?[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$':
    'must be an image reference like "ghcr.io/example/tools:1.4" or "alpine@sha256:<64 hex digits>"',
};
