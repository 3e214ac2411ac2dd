#!/usr/bin/env bash
# The demo: plan + apply of the example workspace at the repo root, then the state.
set -euo pipefail
cd "$(dirname "$0")/.."
orx() { node bin/run.js "$@"; }

if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1 && ! node -e "require('net').connect(process.env.DOCKER_HOST ? 0 : '/var/run/docker.sock').on('error',()=>process.exit(1)).on('connect',()=>process.exit(0))" 2>/dev/null; then
  echo "demo: no Docker engine answers. Start one, or run (as root on Debian/Ubuntu): scripts/ensure-docker.sh" >&2
  exit 1
fi
scripts/prepare-images.sh

echo "== orx validate" >&2
orx validate
echo "== orx plan -out plans/demo.plan.json" >&2
orx plan -out plans/demo.plan.json
echo "== orx approve plans/demo.plan.json --all (autonomy 1: deploys need a human; this records one)" >&2
orx approve plans/demo.plan.json --all --reason "npm run demo"
echo "== orx apply plans/demo.plan.json" >&2
orx apply plans/demo.plan.json
echo "== orx plan --detailed-exitcode (expect no changes)" >&2
orx plan --detailed-exitcode
echo "== orx state list" >&2
orx state list
echo "== orx dr backup --auto-approve, then a restore drill (orx dr verify --drill)" >&2
orx dr backup --auto-approve
orx dr verify "$(orx dr list --json | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).backups[0].id)')" --drill
echo "== orx runs" >&2
orx runs
echo >&2
echo "Tear it down with: node bin/run.js destroy (on a terminal: review and approve there)" >&2
