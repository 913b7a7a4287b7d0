#!/usr/bin/env bash
# Does entangled retain selection help utility? grad_diff on the synthetic benchmark with random vs
# entangled retain pairing (lethe.unlearn.retain_selection), probed like bench/unlearning-synthetic.sh.
# Reuses that script's OUT_DIR: it trains the target and runs random grad_diff (METHODS=grad_diff),
# then this script runs `lethe stats` on the target and grad_diff with retain_selection = entangled.
#
# Usage: bench/stats-entangled.sh [OUT_DIR]   (default target/unlearning-synthetic)
# Environment: UL_LR=1e-3 UL_EPOCHS=10 UL_BATCH=32 as unlearning-synthetic.sh; TOP_M=10.
# Prints CSV (run, method, seconds, probe columns), appended to OUT_DIR/results.csv.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
lethe="$repo/bin/lethe"
out="${1:-$repo/target/unlearning-synthetic}"
METHODS=grad_diff "$here/unlearning-synthetic.sh" "$out"
out="$(cd "$out" && pwd)"
bench="$out/bench" root="$out/root" logs="$out/logs"
checkpoint_of() { sed -n 's/.*"checkpoint":"\([^"]*\)".*/\1/p' "$1"; }
target="$(checkpoint_of "$logs/target.json")"

start=$SECONDS
"$lethe" stats --root "$root" --run-id stats-target --model "$target" \
  --set stats.dataset=synth --set stats.splits.holdout='""' --set stats.top_m="${TOP_M:-10}" \
  >"$logs/stats-target.json" 2>"$logs/stats-target.err"
echo "stats-target,stats,$((SECONDS - start)),$(cat "$logs/stats-target.json")" >&2

start=$SECONDS
"$lethe" unlearn --root "$root" --run-id grad_diff_entangled \
  --set unlearn.dataset=synth --set unlearn.model="$target" --set unlearn.method=grad_diff \
  --set unlearn.lr="${UL_LR:-1e-3}" --set unlearn.epochs="${UL_EPOCHS:-10}" --set unlearn.batch_size="${UL_BATCH:-32}" \
  --set unlearn.retain_selection=entangled --set unlearn.stats_run_id=stats-target \
  --set unlearn.output="$out/ckpt/grad_diff_entangled" >"$logs/grad_diff_entangled.json" 2>"$logs/grad_diff_entangled.err"
echo "grad_diff_entangled,grad_diff,$((SECONDS - start)),$("$here/run" ForgetRetainProbe \
  "$(checkpoint_of "$logs/grad_diff_entangled.json")" "$bench" --no-header 2>>"$logs/probe.err")" | tee -a "$out/results.csv"
