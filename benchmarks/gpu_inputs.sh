#!/usr/bin/env bash
# Fill .gpu_inputs/ (git-ignored) from ../shared for benchmarks/gpu_check.sh on a machine without ../shared.
# Contents (~50 MiB, under the 64 MiB a device run may carry):
#   bert-mini-config/   real uncased tokenizer + config (no weights): random BERT-Tiny students are built from it
#   sentences.txt       ~20k training sentences (SNLI premises + the wiki1m head)
#   sts/STSBenchmark/   sts-{train,dev,test}.csv (SentEval layout)
#   minilm-fp16/        all-MiniLM-L6-v2 with its weights stored in fp16 (45 MB; gpu_check.sh restores fp32
#                       before use: both encoders then see the same fp16-rounded weights, in fp32)
#   before/             sct/ and benchmarks/ of commit 6b635ed (0.3 MB), the code issue 10 measured, so that
#                       gpu_check.sh times before and after in one run
# Usage: bash benchmarks/gpu_inputs.sh [SHARED_DIR]   (default ../shared)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${1:-$ROOT/../shared}"
OUT="$ROOT/.gpu_inputs"
[ -d "$SHARED/models/bert-mini-config" ] || { echo "no $SHARED/models/bert-mini-config: nothing to copy" >&2; exit 1; }
rm -rf "$OUT" && mkdir -p "$OUT/sts/STSBenchmark"
cp -r "$SHARED/models/bert-mini-config" "$OUT/bert-mini-config"
chmod -R u+w "$OUT"
cp "$SHARED"/data/sts/STSBenchmark/sts-{train,dev,test}.csv "$OUT/sts/STSBenchmark/"
cat "$SHARED/data/unlabeled/snli_senteval/s1.dev" "$SHARED/data/unlabeled/wiki1m_head.txt" \
  | awk 'length($0) > 0' | head -n 22000 > "$OUT/sentences.txt"
MINILM="$SHARED/models/all-MiniLM-L6-v2"
if [ -f "$MINILM/model.safetensors" ]; then
  mkdir -p "$OUT/minilm-fp16"
  (cd "$MINILM" && find . -type f ! -name model.safetensors ! -name README.md -exec cp --parents {} "$OUT/minilm-fp16/" \;)
  chmod -R u+w "$OUT/minilm-fp16"
  python - "$MINILM/model.safetensors" "$OUT/minilm-fp16/model.safetensors" <<'PY'
import sys
from safetensors.torch import load_file, save_file
tensors = load_file(sys.argv[1])
save_file({k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}, sys.argv[2])
PY
fi
BEFORE=6b635ed
if git -C "$ROOT" cat-file -e "$BEFORE^{commit}" 2>/dev/null; then
  mkdir -p "$OUT/before" && git -C "$ROOT" archive "$BEFORE" sct benchmarks | tar -x -C "$OUT/before"
fi
du -sh "$OUT"
