#!/usr/bin/env bash
# Makes `kubectl` (and the kustomize built into it) available to deploy/k8s/k8s.test.ts: a fresh
# CI machine has none. Installs Debian's kubernetes-client when kubectl is missing; returns at
# once when it is there. The manifests render with every kubectl from Debian's 1.20 on (ADR 0020).
set -euo pipefail

if command -v kubectl >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# The other deploy test may be installing at the same time: take turns (apt-get update does
# not wait for its lock), and wait for dpkg's lock rather than fail on it.
exec 9>/tmp/notification-hub-apt.lock
flock -w 600 9
lock=(-o DPkg::Lock::Timeout=300)
$sudo apt-get "${lock[@]}" update -qq >/dev/null
$sudo apt-get "${lock[@]}" install -y -qq --no-install-recommends kubernetes-client >/dev/null
command -v kubectl >/dev/null
