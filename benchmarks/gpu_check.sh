#!/usr/bin/env bash
# The one GPU check (H100/H200, torch 2.11, no datasets/ray/optuna/mlflow, no network): < 9 min, all figures in
# $OUT/gpu_check.log. Inputs from .gpu_inputs/ (fill it with benchmarks/gpu_inputs.sh; carry it to the device).
# Each section has its own timeout and the script goes on when one fails; sections whose inputs are missing say
# SKIP. --cpu-dry runs every section on the CPU with tiny settings (a typo check, not a measurement).
# Usage:  OUT=/some/dir bash benchmarks/gpu_check.sh [--cpu-dry]
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
OUT="${OUT:-/tmp/sct-gpu-out}"
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
: > "$LOG"; : > "$OUT/summary.txt"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export TOKENIZERS_PARALLELISM=true HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export TORCHINDUCTOR_CACHE_DIR="${TORCHINDUCTOR_CACHE_DIR:-/tmp/sct-inductor}"  # compiled kernels reused across sections
IN="$ROOT/.gpu_inputs"
WORK="$(mktemp -d /tmp/sct-gpu-XXXX)"
DRY=0; [ "${1:-}" = "--cpu-dry" ] && DRY=1
DEV=cuda; [ $DRY = 1 ] && DEV=cpu
START=$(date +%s)

say() { echo "$*" | tee -a "$LOG"; }
BUDGET=480  # seconds for all sections (GPU run): a section gets min(its limit, what is left); none starts with < 20 s
section() {  # section NAME TIMEOUT_S CMD...  (returns the command's status; a failure never stops the script)
  local name="$1" limit="$2"; shift 2
  local left=$(( BUDGET - ($(date +%s) - START) ))
  if [ $DRY = 1 ]; then limit=$((limit * 3)); elif [ $left -lt 20 ]; then say "SKIP $name: time budget spent"; return 1;
  elif [ $left -lt $limit ]; then limit=$left; fi
  say ""; say "=== $name  (t=$(( $(date +%s) - START ))s, limit ${limit}s)"; say "\$ $*"
  timeout "$limit" "$@" >> "$LOG" 2>&1
  local rc=$?
  [ $rc -ne 0 ] && say "!!! $name FAILED rc=$rc (124 = timed out)"
  return $rc
}

say "gpu_check $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo '?') dry=$DRY"
python - >> "$LOG" 2>&1 <<'PY'
import torch, transformers
print("torch", torch.__version__, "transformers", transformers.__version__, "cuda", torch.cuda.is_available())
if torch.cuda.is_available():
    print(torch.cuda.get_device_name(0), "tf32", torch.backends.cuda.matmul.allow_tf32)
for name in ("sentence_transformers", "scipy", "datasets"):
    try:
        __import__(name); print(name, "present")
    except ImportError:
        print(name, "absent")
PY
[ -d "$IN/bert-mini-config" ] || say "SKIP note: no .gpu_inputs/ (run benchmarks/gpu_inputs.sh here and carry it): generated inputs are used"

if [ $DRY = 1 ]; then
  K1=512; K2=2048; KB=1024; REP=5; STEPS=130; TRAIN_STEPS=130; BASE="--hidden 64 --layers 1 --heads 2"; NS=300
  SMALL="--batch 16 --seq-len 16"; LOOP_SMALL="--batch-size 16 --queue-size 512 --bare-steps 8"
  TRAIN_SMALL="--set optim.batch_size=16"; LAUNCH_SMALL="--shapes 8,16,64 32,32,2048 --repeats 5"; PARTS_SMALL="--batch 8"
else
  K1=16384; K2=131072; KB=65536; REP=5; STEPS=640; TRAIN_STEPS=600; BASE="--hidden 768 --layers 12 --heads 12"; NS=20000
  SMALL=""; LOOP_SMALL=""; TRAIN_SMALL=""; LAUNCH_SMALL="--shapes 8,16,64 128,128,16384 128,128,131072"; PARTS_SMALL=""
fi

# Sections in order of priority: the budget cuts from the end.
# 1. CUDA-only tests (the device path against the naive port) + the step helpers.
if python -c "import pytest" 2>/dev/null; then
  section "pytest (CUDA-only tests)" 150 python -m pytest -q -p no:cacheprovider tests/losses/test_cross_view.py tests/losses/test_paired.py tests/test_step.py -k "cuda or guard or compile_default"
else  # no pytest on the machine: the same equivalence check, written out
  section "device path vs naive port (no pytest here)" 60 python - "$DEV" <<'PY'
import sys
import torch
import torch.nn.functional as F
sys.path.insert(0, "benchmarks")
from naive_loss import naive_cross_view_loss
from sct.losses import cross_view_loss
dev = sys.argv[1]
torch.manual_seed(3)
for objective, divergence in (("distribution", "kl"), ("distribution", "ce"), ("contrastive", "kl")):
    for pairing in ("cross", "identical"):
        x = {n: F.normalize(torch.randn(64 if n[0] != "q" else 16384, 128, device=dev), dim=1)
             for n in ("online1", "online2", "target1", "target2", "queue1", "queue2")}
        x["online1"].requires_grad_(True); x["online2"].requires_grad_(True)
        kw = dict(tau_online=0.04, tau_target=0.03, objective=objective, divergence=divergence, pairing=pairing)
        fast = cross_view_loss(**x, **kw)
        slow, _, _ = naive_cross_view_loss(**x, **kw)
        g1 = torch.autograd.grad(fast, [x["online1"], x["online2"]])
        g2 = torch.autograd.grad(slow, [x["online1"], x["online2"]])
        diff = max([(fast - slow).abs().item()] + [(a - b).abs().max().item() for a, b in zip(g1, g2)])
        print(f"{objective}/{divergence}/{pairing}: max |fast - naive| (value, grads) = {diff:.2e}",
              "passed" if diff <= 1e-5 else "FAILED")
PY
fi

# 2. Step benchmark: encoder-only vs SCT step vs loss rows (loss_fast = the device path, naive, matmul floor).
section "step tiny bf16 eager" 45 python benchmarks/step.py --device $DEV --dtype bf16 --k $K1 $K2 --repeats $REP --no-memory $SMALL

# 2b. Before (commit 6b635ed, the code the issue measured): the same step rows in this run, side by side.
if [ -d "$IN/before/sct" ]; then
  section "BEFORE 6b635ed: step tiny bf16 eager" 90 env PYTHONPATH="$IN/before" python "$IN/before/benchmarks/step.py" --device $DEV --dtype bf16 --k $K1 $K2 --repeats $REP --rows encoder sct loss_fast loss_naive $SMALL
else
  say "SKIP before: no .gpu_inputs/before (benchmarks/gpu_inputs.sh extracts it from git)"
fi

# 3. Loss kernels per device: launches counted and timed (naive port / per-term plain / paired), CUDA and tiny.
section "launches (loss kernels)" 60 python benchmarks/launches.py --device $DEV $LAUNCH_SMALL

# 4. Loop overhead (trainer vs bare step; last line loop_over_step=...): eager (the default), CUDA graphs inside
#    the loop (optim.compile_mode=reduce-overhead; recompiles logged), then inductor without graphs.
section "loop (eager, optim.compile default off)" 150 python benchmarks/loop.py --device $DEV --steps $STEPS --out "$WORK/loop" $LOOP_SMALL
[ $DRY = 0 ] && section "loop (compile reduce-overhead: CUDA graphs in the loop)" 120 env TORCH_LOGS=recompiles python benchmarks/loop.py --device $DEV --steps $STEPS --out "$WORK/loop-graphs" --compile reduce-overhead
section "step parts, BERT-Base shape bf16 (the reference-pass floor)" 60 python benchmarks/step_parts.py --device $DEV --dtype bf16 --k $KB --repeats 5 $BASE $PARTS_SMALL
section "loop (compile default)" 100 env TORCH_LOGS=recompiles python benchmarks/loop.py --device $DEV --steps $STEPS --out "$WORK/loop-compiled" --compile default $LOOP_SMALL

# 5. Evaluation encoding, fp32, vs SentenceTransformer.encode (needs sentence-transformers + MiniLM weights).
if [ -f "$IN/minilm-fp16/model.safetensors" ] && python -c "import sentence_transformers" 2>/dev/null; then
  python - "$IN/minilm-fp16" "$WORK/minilm" >> "$LOG" 2>&1 <<'PY'
import shutil, sys
from safetensors.torch import load_file, save_file
src, dst = sys.argv[1], sys.argv[2]
shutil.copytree(src, dst)
tensors = load_file(f"{src}/model.safetensors")
save_file({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}, f"{dst}/model.safetensors")
print("MiniLM restored to fp32 (fp16-rounded weights) at", dst)
PY
  section "evaluate fp32 vs SentenceTransformer.encode" 60 python benchmarks/evaluate.py --device $DEV --model "$WORK/minilm" --sts-dir "$IN/sts" --n-sentences $NS --repeats 3
else
  say "SKIP evaluate: needs .gpu_inputs/minilm-fp16 and sentence-transformers"
fi

# 6. A short real training run through the CLI (BERT-Tiny shape, real sentences when present).
TRAIN_DATA="$IN/sentences.txt"; STS="$IN/sts"
MODEL="$WORK/loop/bert-tiny-random"
[ -d "$MODEL" ] || MODEL="$WORK/loop-eager/bert-tiny-random"
if [ ! -d "$MODEL" ]; then
  python -c "import sys; sys.path.insert(0, 'benchmarks'); from pathlib import Path; from loop import inputs; print(inputs(Path('$WORK/inputs')))" >> "$LOG" 2>&1
  MODEL="$WORK/inputs/bert-tiny-random"; TRAIN_DATA="$WORK/inputs/sentences.txt"; STS="$WORK/inputs/sts"
fi
[ -f "$TRAIN_DATA" ] || TRAIN_DATA="$(dirname "$MODEL")/sentences.txt"
[ -d "$STS/STSBenchmark" ] || STS="$(dirname "$MODEL")/sts"
section "python -m sct.train ($TRAIN_STEPS steps, BERT-Tiny shape)" 120 python -m sct.train --model "$MODEL" \
  --output "$WORK/train" --train-data "$TRAIN_DATA" --sts-dir "$STS" --max-steps $TRAIN_STEPS --quiet \
  --set optim.epochs=100 --set method.queue_size=16384 --set "eval.test_tasks=[stsb]" --set run.device=$DEV $TRAIN_SMALL
[ -f "$WORK/train/metrics.json" ] && { say "metrics.json:"; cat "$WORK/train/metrics.json" >> "$LOG"; }

section "step tiny fp32 eager" 45 python benchmarks/step.py --device $DEV --dtype fp32 --k $K1 $K2 --repeats $REP --no-memory $SMALL

# 7. Compiled steps (inductor cache shared with the loop's), the base shape, CUDA graphs, bf16 evaluation.
section "step tiny bf16 compiled (default mode)" 90 python benchmarks/step.py --device $DEV --dtype bf16 --k $K1 $K2 --repeats $REP --no-memory --compile default --rows encoder sct $SMALL
section "step base bf16 eager" 45 python benchmarks/step.py --device $DEV --dtype bf16 --k $KB --repeats 5 --no-memory --rows encoder sct loss_fast loss_naive $BASE $SMALL
section "step base bf16 compiled (default mode)" 100 python benchmarks/step.py --device $DEV --dtype bf16 --k $KB --repeats 5 --no-memory --compile default --rows encoder sct $BASE $SMALL
[ $DRY = 0 ] && section "step tiny bf16 compiled (reduce-overhead: CUDA graphs)" 90 python benchmarks/step.py --device $DEV --dtype bf16 --k $K1 $K2 --repeats $REP --no-memory --compile reduce-overhead --rows encoder sct
[ $DRY = 0 ] && [ -d "$WORK/minilm" ] && section "evaluate bf16 (amp) vs SentenceTransformer.encode" 40 python benchmarks/evaluate.py --device $DEV --model "$WORK/minilm" --sts-dir "$IN/sts" --n-sentences $NS --repeats 3 --amp

say ""; say "=== done in $(( $(date +%s) - START ))s; summary:"
grep -E "ratios of medians|naive/row|plain/paired|loop_over_step|torch.compile graphs|bounds from parts|per step|throughput ratio|max \|emb|passed|failed|FAILED|SKIP|train_seconds|best_stsb" "$LOG" | tee -a "$OUT/summary.txt"
rm -rf "$WORK"
