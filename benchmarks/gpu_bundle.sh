#!/usr/bin/env bash
# What benchmarks/gpu_check.py needs on a bare, offline GPU machine, in one ignored folder (.gpu/),
# and the command that uses it there (docs/gpu.md):
#
#   bash benchmarks/gpu_bundle.sh gather            # here, with PyPI: wheels + data into .gpu/
#   bash benchmarks/gpu_bundle.sh run DIR [OPTS]    # there, offline: install, run the check into DIR
#
# The GPU machine has Python 3.12 with a CUDA PyTorch, NumPy, SciPy, scikit-image, matplotlib,
# OpenCV and tqdm. The wheels below are the rest of what nint and the check import, for CPython
# 3.12 on manylinux x86-64, one version each (the versions the test suite runs with here). nint
# itself runs from src/ on PYTHONPATH: installing it would pull a second PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."

BUNDLE=.gpu
SITE=${NINT_GPU_SITE:-/tmp/site}
LIMIT_MIB=64 # what travels with the working tree, at most
# soundfile needs cffi (which needs pycparser) and typing-extensions (the machine's PyTorch brings
# it); pytest runs the CUDA tests and needs iniconfig, pluggy, pygments and packaging>=24, newer
# than scikit-image requires, so packaging travels too
WHEELS=(
  soundfile==0.14.0 cffi==2.1.1 pycparser==3.12 pystoi==0.4.1 pypng==0.20220715.0
  trimesh==5.2.0 libigl==2.6.3
  pytest==9.2.0 iniconfig==2.3.1 pluggy==1.7.0 pygments==2.21.0 packaging==26.4
)
# PyPI has pesq 0.0.4 as source only. It is built here into a cp312 wheel when a Python 3.12 is
# found (its extension needs nothing but libc, GLIBC_2.14); without one, NOTES.txt says so and the
# check reports PESQ as missing with that reason.
PESQ=pesq==0.0.4
SHARED=${NINT_SHARED_DATA:-../shared/data}
DATA=(
  "$SHARED/images/kodak/kodim05.png"
  "$SHARED/audio/librispeech/test-clean/121/121726/121-121726-0000.flac"
)

die() {
  echo "gpu_bundle: $*" >&2
  exit 2
}

python312() {
  local candidate
  for candidate in "${PYTHON312:-}" python3.12 "$(pyenv root 2>/dev/null)"/versions/3.12*/bin/python3.12; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

gather() {
  local file py platforms=()
  for file in "${DATA[@]}"; do
    [ -f "$file" ] || die "missing data file $file (NINT_SHARED_DATA names shared/data)"
  done
  rm -rf "$BUNDLE"
  mkdir -p "$BUNDLE/wheels" "$BUNDLE/data"
  # pip matches manylinux_2_N tags exactly, so every tag the chosen wheels use is listed
  for tag in manylinux_2_28 manylinux_2_27 manylinux_2_17 manylinux2014 manylinux1; do
    platforms+=(--platform "${tag}_x86_64")
  done
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp "${platforms[@]}" -d "$BUNDLE/wheels" "${WHEELS[@]}"
  if py=$(python312) && "$py" -m pip wheel -q --no-deps -w "$BUNDLE/wheels" "$PESQ"; then
    echo "pesq: built a cp312 wheel from source with $py"
  else
    echo "pesq: not bundled: PyPI has $PESQ as source only, and no Python 3.12 here" \
      "(PYTHON312=...) built it into a wheel" >"$BUNDLE/NOTES.txt"
    cat "$BUNDLE/NOTES.txt"
  fi
  cp "${DATA[@]}" "$BUNDLE/data/"
  chmod -R u+w "$BUNDLE/data" # shared/data is read-only; keep the copies deletable
  cat >"$BUNDLE/data/SOURCE.txt" <<'EOF'
Copied unmodified from shared/data by benchmarks/gpu_bundle.sh for one GPU check; never commit.
kodim05.png: Kodak PhotoCD suite, free for research use.
121-121726-0000.flac: LibriSpeech test-clean (Panayotov et al., 2015), CC BY 4.0.
EOF
  ls -l "$BUNDLE/wheels" "$BUNDLE/data"
  local bytes
  bytes=$(du -sb "$BUNDLE" | cut -f1)
  echo "$BUNDLE: $((bytes / 1024)) KiB in all"
  [ "$bytes" -le $((LIMIT_MIB * 1024 * 1024)) ] || die "$BUNDLE is over $LIMIT_MIB MiB"
}

run() {
  local out=${1:-}
  [ -n "$out" ] || die "usage: bash benchmarks/gpu_bundle.sh run DIR [gpu_check options]"
  shift
  compgen -G "$BUNDLE/wheels/*.whl" >/dev/null ||
    die "no wheels in $BUNDLE/wheels: run 'bash benchmarks/gpu_bundle.sh gather' and carry $BUNDLE"
  if python3 -m pip --version >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target "$SITE" "$BUNDLE"/wheels/*.whl
  else
    # no pip there: a wheel is a zip of its installed files, and these need no install scripts
    for wheel in "$BUNDLE"/wheels/*.whl; do python3 -m zipfile -e "$wheel" "$SITE"; done
  fi
  PYTHONPATH="$SITE:$PWD/src${PYTHONPATH:+:$PYTHONPATH}" exec python3 benchmarks/gpu_check.py \
    --out "$out" "$@"
}

case "${1:-}" in
gather) gather ;;
run)
  shift
  run "$@"
  ;;
*) die "usage: bash benchmarks/gpu_bundle.sh gather | run DIR [gpu_check options]" ;;
esac
