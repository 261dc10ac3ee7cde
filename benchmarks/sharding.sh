#!/usr/bin/env bash
# One process with two threads against `torchrun` with two single-thread processes, same fit.
# Prints seconds per iteration, the clock's parts per iteration and the final PSNR of each run.
#   bash benchmarks/sharding.sh [IMAGE] [CROP] [ITERATIONS]      (about 2 minutes on a 2-core CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${1:-../shared/data/images/kodak/kodim05.png}
CROP=${2:-512}
ITERATIONS=${3:-12}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
COMMON=(fit "$IMAGE" --crop "$CROP" --iterations "$ITERATIONS" --eval-every 100000 --device cpu --quiet)
for strategy in int nint; do
  OMP_NUM_THREADS=2 .venv/bin/nint "${COMMON[@]}" --strategy "$strategy" --out "$OUT/one-process-$strategy" >/dev/null
  OMP_NUM_THREADS=1 .venv/bin/torchrun --standalone --nproc_per_node 2 -m nint "${COMMON[@]}" \
    --strategy "$strategy" --out "$OUT/two-ranks-$strategy" >/dev/null 2>&1
done
for run in "$OUT"/*; do
  .venv/bin/python - "$run" <<'PY'
import json, sys
from pathlib import Path
run = Path(sys.argv[1])
s, c = json.loads((run / "summary.json").read_text()), json.loads((run / "config.json").read_text())
parts = {k: round(v / s["iterations"], 3) for k, v in s["time_parts"].items() if v > 0.001}
print(f"{run.name}: {c['world_size']} process(es), {s['seconds_per_iteration']:.3f} s/it, "
      f"parts s/it {parts}, PSNR {s['final']['psnr']:.4f}")
PY
done
