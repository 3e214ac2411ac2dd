#!/usr/bin/env bash
# Builds the egress gateway's test image, orx-test-squid:bookworm: a Debian bookworm root
# filesystem with squid from Debian's own packages (debootstrap, its default mirror, run as
# root), imported into the engine. Nothing can be pulled from a registry on CI machines, and
# the production default image (see src/egress/image.ts) is not reachable from here. Skipped
# when the tag already exists, so a machine builds it once.
set -euo pipefail
tag=${ORX_TEST_SQUID_IMAGE:-orx-test-squid:bookworm}
if docker image inspect "$tag" >/dev/null 2>&1; then exit 0; fi
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "prepare-egress-image: debootstrap is missing; install it (apt-get install -y debootstrap)" >&2
  exit 1
fi
dir=$(mktemp -d /var/tmp/orx-squid-rootfs.XXXXXX)
trap 'rm -rf "$dir"' EXIT
debootstrap --variant=minbase --include=squid bookworm "$dir" >"$dir.log" 2>&1 || {
  tail -n 20 "$dir.log" >&2
  rm -f "$dir.log"
  exit 1
}
rm -f "$dir.log"
# the package's own start-up scripts and caches are not part of a gateway
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
tar -C "$dir" -c . | docker import -c 'USER proxy' -c 'CMD ["/usr/sbin/squid", "-N"]' - "$tag" >/dev/null
echo "prepare-egress-image: built $tag"
