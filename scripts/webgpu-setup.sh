#!/usr/bin/env bash
# Installs what the webgpu tests need on a fresh Debian machine without a GPU: Mesa's EGL and OpenGL ES
# (llvmpipe), on which Dawn's OpenGL ES backend gives a software WebGPU adapter in compatibility mode,
# plus the Vulkan loader and Mesa's Vulkan drivers, so the Vulkan probe runs for real too (Dawn refuses
# Debian 12's lavapipe, and says why). The trainer sets EGL's surfaceless platform itself. Idempotent.
# What was verified, and why each piece: ../shared/webgpu-node.md (summarised in README.md, Backends).
set -euo pipefail

# Dawn loads "libEGL.so" — the unversioned name, which only libegl-dev provides (a symlink to glvnd's
# libEGL.so.1 from libegl1) — and glvnd loads Mesa's libegl-mesa0, which renders with llvmpipe
# (libgl1-mesa-dri).
packages=(libegl1 libegl-dev libegl-mesa0 libgles2 libgl1-mesa-dri libvulkan1 mesa-vulkan-drivers)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "webgpu-setup: installing ${missing[*]}"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
