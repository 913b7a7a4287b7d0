#!/usr/bin/env bash
# YARN: `lethe unlearn` in cluster mode on GPU containers (yarn.io/gpu must be a configured resource
# type; the NodeManagers isolate GPUs and set CUDA_VISIBLE_DEVICES, which get-gpus.sh honours).
# Tables and models on HDFS; the HOCON config is shipped with --files and read from the container's
# working directory. Usage: deploy/yarn/submit-unlearn.sh RUN_ID CONF_FILE
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
run_id="${1:?usage: submit-unlearn.sh RUN_ID CONF_FILE}"
conf="${2:?usage: submit-unlearn.sh RUN_ID CONF_FILE}"
LETHE_SPARK_DEFAULTS="$here/spark-defaults-gpu.conf" exec "$here/lethe-submit" \
  --master yarn --deploy-mode cluster \
  --num-executors 4 \
  --files "$conf,$here/get-gpus.sh" \
  --conf spark.executor.resource.gpu.discoveryScript=./get-gpus.sh \
  --conf spark.yarn.maxAppAttempts=1 \
  -- unlearn --root hdfs:///lethe/tables --run-id "$run_id" --conf "$(basename "$conf")" \
  --set model.device=gpu
