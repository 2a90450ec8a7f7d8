#!/usr/bin/env bash
# Makes `promtool` available to deploy/observability/observability.test.ts: a fresh CI machine has
# none. Installs Debian's prometheus package (the one that ships promtool) when promtool is
# missing; returns at once when it is there. Only the tool is wanted: the package's server is
# kept from starting (policy-rc.d), so the install leaves no daemon behind.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# notification-hub: ensure-promtool.sh installs prometheus for promtool only\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi
# The other deploy test may be installing at the same time: take turns (apt-get update does
# not wait for its lock), and wait for dpkg's lock rather than fail on it.
exec 9>/tmp/notification-hub-apt.lock
flock -w 600 9
lock=(-o DPkg::Lock::Timeout=300)
$sudo apt-get "${lock[@]}" update -qq >/dev/null
$sudo apt-get "${lock[@]}" install -y -qq --no-install-recommends prometheus >/dev/null
command -v promtool >/dev/null
