#!/usr/bin/env bash
# GPU check: on a machine with a GPU (made for a headless NVIDIA Linux server), prints what WebGPU needs
# and finds there (driver, Vulkan loader, ICD files), the WebGPU adapter the engine gets, then img/s of a
# MobileNet-v1-like network (α 0.25, 224×224, batch 32, random weights, 640 generated images):
# inference, head-only training (uncached and cached) and full fine-tuning, on webgpu and on wasm on the
# same machine (npm run bench -- --backend webgpu,wasm --mobilenet-only --size 224).
#
# Downloads nothing: it needs a checkout with node_modules installed (npm ci, done where the registry is
# reachable) and builds dist/ locally. About 2-4 minutes on a GPU machine.
#   --tiny   32×32 and 80 images: proves the script end to end in well under a minute (software GPU).
set -euo pipefail
cd "$(dirname "$0")/../.."

size=224
per_class=64
if [ "${1:-}" = "--tiny" ]; then
  size=32
  per_class=8
fi

echo "== machine: $(uname -srm), $(nproc) CPUs, node $(node --version)"
if [ ! -d node_modules/webgpu ] || [ ! -d node_modules/@tensorflow/tfjs-backend-webgpu ]; then
  echo "node_modules is incomplete: run npm ci first (where the npm registry is reachable)" >&2
  exit 1
fi

echo "== GPU driver"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
else
  echo "nvidia-smi: not found"
fi

if [ "$(uname -s)" = "Linux" ]; then
  echo "== Vulkan (how Dawn reaches the GPU on Linux)"
  loader="$( (ldconfig -p 2>/dev/null || true) | awk '/libvulkan\.so\.1 /{print $NF; exit}')"
  echo "loader: ${loader:-not found: install libvulkan1 (Debian/Ubuntu: apt-get install libvulkan1)}"
  for var in VK_DRIVER_FILES VK_ICD_FILENAMES; do
    if [ -n "${!var:-}" ]; then echo "$var=${!var}"; fi
  done
  icds=()
  for dir in /etc/vulkan/icd.d /usr/share/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
    for f in "$dir"/*.json; do [ -e "$f" ] && icds+=("$f"); done
  done
  if [ ${#icds[@]} -gt 0 ]; then printf 'ICD file: %s\n' "${icds[@]}"; else echo "ICD files: none in /etc/vulkan/icd.d, /usr/share/vulkan/icd.d, /usr/local/share/vulkan/icd.d"; fi
  has_nvidia_icd=0
  overrides="${VK_DRIVER_FILES:-}:${VK_ICD_FILENAMES:-}"
  for f in "${icds[@]}" ${overrides//:/ }; do
    case "$f" in *nvidia*) has_nvidia_icd=1 ;; esac
  done
  if command -v nvidia-smi >/dev/null 2>&1 && [ "$has_nvidia_icd" = 0 ]; then
    # The driver is there but its Vulkan ICD is not where the loader looks (drivers installed outside /usr,
    # containers): look in the usual other places and use it for this check.
    found="$(timeout 20 find /usr/lib /usr/lib64 /usr/local /opt /etc -name 'nvidia_icd*.json' 2>/dev/null | head -1 || true)"
    if [ -n "$found" ]; then
      echo "NVIDIA ICD found at $found: using VK_DRIVER_FILES=$found for this check (export it for training too)"
      export VK_DRIVER_FILES="$found"
    else
      echo "no nvidia_icd.json found: Vulkan cannot reach the NVIDIA GPU. In a container, start it with the NVIDIA Container Toolkit and NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics."
    fi
  fi
fi

echo "== build (local, no download)"
node scripts/build.mjs >/dev/null

echo "== bench: MobileNet-v1 α 0.25 ${size}×${size}, batch 32, webgpu and wasm (adapters first)"
node scripts/bench/run.mjs --backend webgpu,wasm --mobilenet-only --size "$size" --per-class "$per_class" 2>&1 |
  grep -v '^Warning: max.*artificially reduced'
