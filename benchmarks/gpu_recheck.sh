#!/usr/bin/env bash
# Second, short GPU check after the first one (benchmarks/gpu_check.sh) showed the fused CUDA loss at 0.49-0.69x
# the naive port and loop_over_step=3.45: times the plain CUDA loss kernel beside naive, and the training loop
# eager and compiled, after dropping the per-batch pin_memory. Figures to $OUT/gpu_recheck.log.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/sct-gpu-out}"; mkdir -p "$OUT"; LOG="$OUT/gpu_recheck.log"; : > "$LOG"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
run() { echo "=== $*" | tee -a "$LOG"; timeout "$1" "${@:2}" >> "$LOG" 2>&1 || echo "!!! rc=$?" | tee -a "$LOG"; }
run 40 python benchmarks/step.py --device cuda --dtype bf16 --k 16384 131072 --repeats 5 --no-memory
run 70 python benchmarks/loop.py --device cuda --steps 640 --compile off --out /tmp/sct-loop-eager
run 100 python benchmarks/loop.py --device cuda --steps 640 --out /tmp/sct-loop-compiled
grep -E "ratios|loop_over_step|ms/step|loop\+eval" "$LOG"
