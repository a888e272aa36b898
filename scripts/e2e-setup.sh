#!/usr/bin/env bash
# Installs what the end-to-end tests (test/e2e) need on a fresh Debian machine: a real VS Code
# (code-server 4.100.3 from npm, in test/e2e/node_modules, outside the extension's dependencies) and
# the browser that drives it. Idempotent: when everything is in place it only checks and returns.
# The recipe and the reasons for each step: ../shared/e2e-vscode.md (summarised in test/e2e/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
E2E_DIR=test/e2e

# 1. Debian packages. libkrb5-dev: headers for code-server's `kerberos` native module; ripgrep: see
#    step 2; chromium: the browser Playwright drives.
missing=()
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "e2e-setup: installing ${missing[*]}"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
fi

# 2. @vscode/ripgrep's postinstall downloads rg from GitHub, which fails offline; it looks in this cache
#    first. Seed it with Debian's rg: a tar.gz holding a single file named `rg` at its root.
cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
archive="$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -s "$archive" ]; then
  mkdir -p "$cache"
  staging="$(mktemp -d)"
  cp "$(command -v rg)" "$staging/rg"
  tar -czf "$archive.partial" -C "$staging" rg
  mv "$archive.partial" "$archive"
  rm -rf "$staging"
fi

# 3. code-server itself. Reinstall only when the lock file changed since the last successful install.
stamp="$E2E_DIR/node_modules/.e2e-setup-stamp"
want="$(sha256sum "$E2E_DIR/package-lock.json" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$E2E_DIR/node_modules/code-server/out/node/entry.js" ]; then
  echo "e2e-setup: code-server already installed"
  exit 0
fi
echo "e2e-setup: installing code-server (about a minute and a half)"
# unsafe_perm: the postinstall refuses to run as root without it; yes: node-pty's postinstall calls
# `npx node-gyp`, which would otherwise stop to ask. argon2 builds from source when no prebuilt downloads.
(
  cd "$E2E_DIR"
  npm_config_unsafe_perm=true npm_config_yes=true npm ci --no-audit --no-fund --foreground-scripts >npm-ci.log 2>&1 ||
    {
      tail -n 60 npm-ci.log
      echo "e2e-setup: npm ci in $E2E_DIR failed (full log: $E2E_DIR/npm-ci.log)" >&2
      exit 1
    }
)
node -e "require('./$E2E_DIR/node_modules/code-server/package.json')" # fails loudly if the install is incomplete
echo "$want" >"$stamp"
echo "e2e-setup: done"
