#!/usr/bin/env bash
# Makes a command available to a test on a fresh machine: `ensure-debian-tool.sh <command> <package>`
# installs the Debian package when the command is missing and returns at once when it is there.
# Set NO_DAEMON=1 for a package that ships a server next to the tool (prometheus for promtool):
# policy-rc.d keeps the server from starting, so the install leaves no daemon behind.
set -euo pipefail
command=$1
package=$2

if command -v "$command" >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
if [ "${NO_DAEMON:-0}" = 1 ] && [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# notification-hub: ensure-debian-tool.sh installs %s for %s only\nexit 101\n' "$package" "$command" | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi
# Deploy tests may install at the same time: take turns (apt-get update does not wait for its
# lock), and wait for dpkg's lock rather than fail on it.
exec 9>/tmp/notification-hub-apt.lock
flock -w 600 9
lock=(-o DPkg::Lock::Timeout=300)
$sudo apt-get "${lock[@]}" update -qq >/dev/null
$sudo apt-get "${lock[@]}" install -y -qq --no-install-recommends "$package" >/dev/null
command -v "$command" >/dev/null
