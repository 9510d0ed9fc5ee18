#!/usr/bin/env bash
# The GPU rows of README "Speed" in one call, for a machine lent with a CUDA GPU:
# training at 256 px, both stages, end to end from JPEGs and model only, against the reference,
# peak memory and the card's name; then what bf16, channels_last, fused Adam and compile each give,
# and the same-colors check (our path's validation L1 against fp32) on the repo's example photos.
#   tools/gpu_benchmark.sh [OUT_DIR]     (default: gpu_benchmark/; PYTHON=... to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-gpu_benchmark}"
py="${PYTHON:-python}"
mkdir -p "$out"
"$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU here')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/card.csv" || true
"$py" -m tools.benchmark --device cuda --json "$out/rows.json" 2>&1 | tee "$out/benchmark.txt"
"$py" -m tools.benchmark --device cuda --train-variants 2>&1 | tee "$out/variants.txt"
"$py" -m tools.benchmark --device cuda --same-colors examples/color --batch 8 2>&1 | tee "$out/same_colors.txt"
