#!/usr/bin/env bash
# The GPU check of backend: webgpu, for a machine with an NVIDIA GPU that has
# no Node and no registry (the project's device machine).
#
#   bash bench/gpu-check.sh pack   here: builds .gpu/ (Node, the app with its
#                                  production node_modules, a copy of the
#                                  Fashion-MNIST test set) and .gl/ (the
#                                  Vulkan and EGL loaders as Debian packages);
#                                  both are ignored by git and must be carried.
#   bash bench/gpu-check.sh run    there: unpacks them, lists the backends,
#                                  checks that 2 webgpu workers train as one
#                                  cpu process (25 steps), then runs
#                                  `npm run bench -- gpu` (webgpu vs PyTorch,
#                                  workers sharing the GPU). Everything it
#                                  prints also lands in $OUT.
#
# The device tool's call (about 6 minutes of device time):
#   run(command: "bash bench/gpu-check.sh run", carry: [".gpu", ".gl"], timeout_s: 540)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LIMIT_MIB=60   # of the 64 MiB a call may carry, with the tracked tree

pack() {
  grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo /.gpu/ >>.git/info/exclude
  grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo /.gl/ >>.git/info/exclude
  rm -rf .gpu/app.tar.xz .gpu/fashion-mnist && mkdir -p .gpu .gl
  npm run build >/dev/null
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' RETURN
  app=$stage/app
  mkdir -p "$app/bench"
  cp -r package.json package-lock.json bin dist configs build web "$app/"
  cp bench/torch-step.py "$app/bench/"
  (cd "$app" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund >/dev/null)
  # Only what Linux x86-64 loads: other platforms' binaries, bundles for browsers, source maps.
  nm=$app/node_modules
  rm -rf "$nm"/webgpu/dist/{darwin-universal,linux-arm64,win32-arm64,win32-x64}
  find "$nm/zeromq" -path '*prebuilds*' -mindepth 1 -maxdepth 3 -type d ! -name '*linux*x64*' ! -name prebuilds -prune -exec rm -rf {} + 2>/dev/null || true
  find "$nm" \( -name '*.map' -o -name '*.min.js' -o -name '*.es2017.js' -o -name '*.fesm.js' -o -name '*.esm.js' -o -name '*.d.ts' -o -name '*.md' \) -type f -delete
  find "$nm/@tensorflow" -path '*/dist/*' -name '*.wasm' ! -name 'tfjs-backend-wasm*.wasm' -delete 2>/dev/null || true
  python3 - "$stage" "$ROOT/.gpu" "$(command -v node)" <<'PY'
import lzma, os, shutil, sys, tarfile
stage, out, node = sys.argv[1:]
packed = os.path.join(out, 'node.xz')
if not os.path.exists(packed) or os.path.getmtime(packed) < os.path.getmtime(node):
    with open(node, 'rb') as src, lzma.open(packed, 'wb', preset=6) as dst:
        shutil.copyfileobj(src, dst)
with tarfile.open(os.path.join(out, 'app.tar.xz'), 'w:xz', preset=6) as tar:
    tar.add(os.path.join(stage, 'app'), arcname='app')
PY
  # Fashion-MNIST's test set stands in for the training set too: step times do not depend on the images.
  data=/usr/share/datasets/fashion-mnist
  mkdir -p .gpu/fashion-mnist
  for f in images-idx3-ubyte labels-idx1-ubyte; do
    cp "$data/t10k-$f.gz" .gpu/fashion-mnist/
    ln -sf "t10k-$f.gz" ".gpu/fashion-mnist/train-$f.gz"
  done
  # The loaders the device machine lacks (its tool's README): Vulkan, EGL, GLES.
  if ! ls .gl/*.deb >/dev/null 2>&1; then
    o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    mkdir -p /tmp/amd64/partial
    # shellcheck disable=SC2086
    apt-get $o update -qq && (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
  fi
  total=$(du -smL .gpu .gl | awk '{s+=$1} END {print s}')
  tree=$(git ls-files -z | du -smc --files0-from=- | tail -1 | cut -f1)
  echo "packed: .gpu and .gl $total MiB, the tracked tree $tree MiB (limit $LIMIT_MIB MiB together)"
  [ $((total + tree)) -le $LIMIT_MIB ] || { echo "too large to carry" >&2; exit 1; }
}

run_there() {
  # DRY_RUN=1 tries the script on a machine without a GPU: no loaders unpacked into /, one short round.
  if [ -z "${DRY_RUN:-}" ]; then
    ls .gl/*.deb >/dev/null 2>&1 || { echo "no .gl/*.deb: run bash bench/gpu-check.sh pack here and carry .gl" >&2; return 1; }
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_DRIVER_FILES=$icd __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  g=/tmp/gpu-check
  rm -rf "$g" && mkdir -p "$g"
  python3 - "$ROOT/.gpu" "$g" <<'PY'
import lzma, os, shutil, sys, tarfile
src, dst = sys.argv[1:]
with lzma.open(os.path.join(src, 'node.xz')) as f, open(os.path.join(dst, 'node'), 'wb') as o:
    shutil.copyfileobj(f, o)
os.chmod(os.path.join(dst, 'node'), 0o755)
with tarfile.open(os.path.join(src, 'app.tar.xz')) as tar:
    tar.extractall(dst)
PY
  node=$g/node
  app=$g/app
  export FASHION_MNIST=$ROOT/.gpu/fashion-mnist
  echo "== machine"
  nvidia-smi -L || true
  "$node" --version
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' || true
  echo "== dtrain backends"
  "$node" "$app/bin/dtrain.js" backends
  echo "== 2 webgpu workers on GPU 0 against 1 cpu process, the quick-start MLP, 25 steps"
  job=$g/job.json
  cat >"$job" <<JSON
{"name":"gpu-equiv","seed":11,"data":{"source":"fashion-mnist","path":"$FASHION_MNIST","limit":2000,"testLimit":500},
 "model":{"zoo":"mlp","hidden":[256,128,100],"activation":"relu"},
 "train":{"maxSteps":25,"epochs":3,"batchSize":128,"optimizer":{"name":"adam","lr":0.001},"clipNorm":5},"cluster":{"backend":"cpu"}}
JSON
  gpus="--gpus 0"
  [ -z "${DRY_RUN:-}" ] || gpus=""
  # shellcheck disable=SC2086
  "$node" "$app/bin/dtrain.js" run "$job" --backend webgpu $gpus --workers 2 --out "$g/webgpu" --no-progress
  "$node" "$app/bin/dtrain.js" run "$job" --backend cpu --workers 1 --out "$g/cpu" --no-progress
  "$node" -e '
    const fs = require("fs");
    const read = (d) => { const b = fs.readFileSync(d + "/model/weights.bin"); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
    const a = read(process.argv[1]), b = read(process.argv[2]);
    let d = 0, n = 0;
    for (let i = 0; i < b.length; i++) { d += (a[i] - b[i]) ** 2; n += b[i] ** 2; }
    const s = JSON.parse(fs.readFileSync(process.argv[1] + "/summary.json", "utf8"));
    console.log(`webgpu (${s.adapter}) vs cpu: relative difference ${Math.sqrt(d / n).toExponential(2)} over ${b.length} weights`);
  ' "$g/webgpu" "$g/cpu"
  cp "$g/webgpu/summary.json" "${OUT:-/tmp/gpu-check-out}/webgpu-summary.json"
  echo "== npm run bench -- gpu"
  if [ -n "${DRY_RUN:-}" ]; then
    "$node" "$app/dist/bench/main.js" gpu --rounds 1 --steps 20
  else
    "$node" "$app/dist/bench/main.js" gpu --rounds 3 --gpu 0 --steps 200
  fi
}

case "${1:-}" in
  pack) pack ;;
  run)
    out=${OUT:-/tmp/gpu-check-out}
    mkdir -p "$out"
    set -o pipefail
    run_there 2>&1 | tee "$out/gpu-check.txt"
    ;;
  *) echo "usage: bash bench/gpu-check.sh pack|run" >&2; exit 2 ;;
esac
