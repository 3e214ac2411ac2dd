#!/usr/bin/env bash
# Makes sure a Docker engine answers. As root on a Debian-like host it installs what
# is missing (docker.io, and busybox-static for the registry-free example image) and
# starts dockerd in the background; anywhere else it says exactly what to do.
set -euo pipefail

engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_up; then
  echo "ensure-docker: engine is up ($(docker version --format '{{.Server.Version}}'))" >&2
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  cat >&2 <<'MSG'
ensure-docker: no Docker engine answers, and this script only installs as root on Debian/Ubuntu.
  Install Docker Engine (https://docs.docker.com/engine/install/) or Docker Desktop, start it,
  and make sure `docker version` shows a Server section (or set DOCKER_HOST).
  The example image also needs a static busybox: Debian/Ubuntu package busybox-static.
MSG
  exit 1
fi

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static || dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  echo "ensure-docker: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! engine_up; then
  echo "ensure-docker: starting dockerd in the background (log: /tmp/dockerd.log)" >&2
  nohup dockerd >/tmp/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    engine_up && break
    sleep 1
  done
fi
engine_up || { echo "ensure-docker: dockerd did not come up; see /tmp/dockerd.log" >&2; tail -20 /tmp/dockerd.log >&2; exit 1; }
echo "ensure-docker: engine is up ($(docker version --format '{{.Server.Version}}'))" >&2
