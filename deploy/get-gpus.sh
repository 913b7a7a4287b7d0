#!/usr/bin/env bash
# Spark GPU discovery script: prints the node's (or container's) GPUs as Spark's resource JSON,
#   {"name":"gpu","addresses":["0","1"]}
# The addresses are CUDA device ordinals; Lethe's device = gpu uses the one Spark assigns a task.
# Honours CUDA_VISIBLE_DEVICES (containers and YARN set it); otherwise asks nvidia-smi.
set -euo pipefail
if [[ -n "${CUDA_VISIBLE_DEVICES:-}" ]]; then
  # Inside a CUDA_VISIBLE_DEVICES mask the visible GPUs are renumbered from 0.
  IFS=',' read -r -a visible <<< "$CUDA_VISIBLE_DEVICES"
  ids=$(seq 0 $((${#visible[@]} - 1)))
else
  ids=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null || true)
fi
json=""
for id in $ids; do
  json+="${json:+,}\"$id\""
done
echo "{\"name\":\"gpu\",\"addresses\":[${json}]}"
