#!/usr/bin/env bash
# Unlearning on the synthetic benchmark with the demo model, end to end (results:
# bench/results/unlearning-synthetic.md): generate the benchmark, ingest it, train the demo preset
# from scratch on full + general, unlearn forget10 (retain90 as retain) with each method, and probe
# the target and every unlearned checkpoint with bench/ForgetRetainProbe.
#
# Usage: bench/unlearning-synthetic.sh [OUT_DIR]   (default target/unlearning-synthetic)
# Environment (defaults are the measured settings):
#   METHODS="grad_ascent grad_diff npo me+gd idk+ap simnpo rmu"
#   FT_EPOCHS=40 FT_BATCH=16 FT_LR=3e-3 FT_WARMUP=50      finetune of the target
#   UL_LR=1e-3 UL_EPOCHS=10 UL_BATCH=32                    every unlearn run (warmup: one epoch, linear)
#   UL_EXTRA="--set k=v ..."                               more unlearn settings, for every method
# Prints CSV: run, method, seconds, probe columns (see bench/ForgetRetainProbe.java); also in OUT_DIR/results.csv.
# Re-running with the same OUT_DIR reuses the benchmark, and finetune / unlearn resume from (or
# return) their finished checkpoints.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
lethe="$repo/bin/lethe"
out="$(mkdir -p "${1:-$repo/target/unlearning-synthetic}" && cd "${1:-$repo/target/unlearning-synthetic}" && pwd)"
bench="$out/bench" root="$out/root" logs="$out/logs"
mkdir -p "$logs"
methods=(${METHODS:-grad_ascent grad_diff npo me+gd idk+ap simnpo rmu})
ul_extra=(${UL_EXTRA:-})

checkpoint_of() { sed -n 's/.*"checkpoint":"\([^"]*\)".*/\1/p' "$1"; }
probe() { "$here/run" ForgetRetainProbe "$1" "$bench" --no-header 2>>"$logs/probe.err"; }

[[ -f "$bench/manifest.json" ]] || "$lethe" generate-benchmark --out "$bench" >"$logs/generate.json" 2>"$logs/generate.err"
"$lethe" ingest --format tofu --input "$bench" --root "$root" --dataset synth >"$logs/ingest.json" 2>"$logs/ingest.err"

echo "run,method,seconds,model,forget_probability,retain_probability,general_probability,forget_mean_nll,retain_mean_nll,general_mean_nll,forget_n,retain_n,general_n" \
  | tee "$out/results.csv"

start=$SECONDS
"$lethe" finetune --root "$root" --run-id target \
  --set train.dataset=synth --set 'train.splits=[full, general]' --set train.tokenizer="$bench/tokenizer.json" \
  --set train.init_preset=demo --set train.epochs="${FT_EPOCHS:-40}" --set train.batch_size="${FT_BATCH:-16}" \
  --set train.lr="${FT_LR:-3e-3}" --set train.warmup_steps="${FT_WARMUP:-50}" --set train.output="$out/ckpt/target" \
  >"$logs/target.json" 2>"$logs/target.err"
target="$(checkpoint_of "$logs/target.json")"
echo "target,finetune,$((SECONDS - start)),$(probe "$target")" | tee -a "$out/results.csv"

for method in "${methods[@]}"; do
  name="${method//+/_}"
  start=$SECONDS
  if ! "$lethe" unlearn --root "$root" --run-id "$name" \
      --set unlearn.dataset=synth --set unlearn.model="$target" --set unlearn.method="$method" \
      --set unlearn.lr="${UL_LR:-1e-3}" --set unlearn.epochs="${UL_EPOCHS:-10}" --set unlearn.batch_size="${UL_BATCH:-32}" \
      --set unlearn.output="$out/ckpt/$name" "${ul_extra[@]}" >"$logs/$name.json" 2>"$logs/$name.err"; then
    echo "$name: unlearn failed: $(grep 'error:' "$logs/$name.err" | tail -1)" >&2
    continue
  fi
  echo "$name,$method,$((SECONDS - start)),$(probe "$(checkpoint_of "$logs/$name.json")")" | tee -a "$out/results.csv"
done
