#!/usr/bin/env bash
# Puts a static busybox into each image build context under templates/images/, so the
# example images build with no registry at all. Uses the host's busybox-static; on a
# machine that can pull, falls back to copying busybox out of the busybox:musl image.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

find_busybox() {
  for p in /bin/busybox /usr/bin/busybox; do
    if [ -x "$p" ] && ! ldd "$p" >/dev/null 2>&1; then echo "$p"; return 0; fi
  done
  return 1
}

for ctx in "$root"/templates/images/*/; do
  [ -f "$ctx/busybox" ] && continue
  if src=$(find_busybox); then
    cp "$src" "$ctx/busybox"
  elif command -v docker >/dev/null 2>&1 && docker pull -q busybox:musl >/dev/null 2>&1; then
    id=$(docker create busybox:musl)
    docker cp "$id:/bin/busybox" "$ctx/busybox"
    docker rm "$id" >/dev/null
  else
    echo "prepare-images: no static busybox found; install busybox-static (Debian/Ubuntu) or allow pulling busybox:musl" >&2
    exit 1
  fi
  chmod 0755 "$ctx/busybox"
done
