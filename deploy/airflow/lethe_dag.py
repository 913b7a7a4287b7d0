"""Airflow 2.x DAG running Lethe's jobs on a Spark cluster, one spark-submit per step:

    ingest -> finetune (when the target model is missing) -> stats -> unlearn | continual
           -> evaluate -> report

Needs apache-airflow-providers-apache-spark (SparkSubmitOperator) and a Spark connection
(`spark_default`, or the `spark_conn_id` param) whose host is the cluster's master. Every run id is
derived from Airflow's `{{ run_id }}`, sanitized to Lethe's `[A-Za-z0-9._-]+` by `lethe_run_id`
(Airflow run ids hold ':' and '+', e.g. `scheduled__2026-01-02T00:00:00+00:00`). Lethe's settings
come from a HOCON file (`params.conf`); Spark's from the connection and `conf=` below
(deploy/spark-defaults-*.conf lists them). Copy this file to the DAGs folder and adapt `params`.

Every Lethe task runs in the Airflow pool `lethe_tables` (LETHE_POOL): create it with ONE slot,

    airflow pools set lethe_tables 1 "Lethe: one application per table root"

when the table root is on S3 (s3a://) without a multi-cluster Delta log store: S3 has no
put-if-absent, so two applications committing to one Delta table at once can overwrite each
other's commit, and Lethe cannot detect it (README, "Storage safety"). Give the pool to every DAG
that writes the same root. On HDFS, ADLS, GCS or a local root, concurrent writers are safe and the
pool may have more slots.
"""

import os
import re
from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import BranchPythonOperator
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator


def lethe_run_id(run_id):
    """Airflow's run id as a Lethe run id: runs of characters outside [A-Za-z0-9._-] become '_'."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", str(run_id)).strip("_")
    return cleaned or "run"


# The --add-opens list Spark 3.5 needs on Java 17 (pom.xml's spark.java17.opens), plus DJL offline.
JAVA_OPTS = " ".join(
    ["-XX:+IgnoreUnrecognizedVMOptions"]
    + ["--add-opens=java.base/%s=ALL-UNNAMED" % p for p in (
        "java.lang", "java.lang.invoke", "java.lang.reflect", "java.io", "java.net", "java.nio",
        "java.util", "java.util.concurrent", "java.util.concurrent.atomic", "jdk.internal.ref",
        "sun.nio.ch", "sun.nio.cs", "sun.security.action", "sun.util.calendar")]
    + ["--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
       "-Djdk.reflect.useDirectMethodHandle=false", "-Dai.djl.offline=true"])

# The numeric pins of reproducible runs (conf/numerics.env; issue 17): the driver (env_vars below, for a
# client-mode driver; appMasterEnv / driverEnv for a cluster-mode one) and every executor compute with
# the same libtorch kernels. Leave them out only with lethe.model.reproducible = false in params.conf.
NUMERIC_PINS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"}

SPARK_CONF = {
    "spark.driver.extraJavaOptions": JAVA_OPTS,
    "spark.executor.extraJavaOptions": JAVA_OPTS,
    "spark.executorEnv.DJL_OFFLINE": "true",
    "spark.executorEnv.DJL_CACHE_DIR": "/var/cache/lethe/djl",
    "spark.sql.session.timeZone": "UTC",
    # One training task per executor JVM (DJL: one backward pass per JVM at a time).
    "spark.executor.cores": "4",
    "spark.task.cpus": "4",
}
for _name, _value in NUMERIC_PINS.items():
    for _prefix in ("spark.executorEnv", "spark.yarn.appMasterEnv", "spark.kubernetes.driverEnv"):
        SPARK_CONF[_prefix + "." + _name] = _value

# One slot when the root is on S3 (see the module docstring); shared by every DAG writing the root.
LETHE_POOL = "lethe_tables"

# Templated pieces (Jinja, rendered per run).
RID = "{{ lethe_run_id(run_id) }}"
ROOT = "{{ params.root }}"
CONF = "{{ params.conf }}"
TARGET = "{{ params.target_model }}"
OUTPUT = "{{ params.root }}/checkpoints/unlearn-" + RID


def lethe(task_id, *args, **kwargs):
    """One `lethe <command> args...` through spark-submit."""
    return SparkSubmitOperator(
        task_id=task_id,
        application="{{ params.jar }}",
        java_class="org.lethe.jobs.Lethe",
        conn_id="{{ params.spark_conn_id }}",
        conf=SPARK_CONF,
        env_vars=dict(NUMERIC_PINS),
        application_args=list(args),
        name="lethe-" + task_id + "-" + RID,
        pool=LETHE_POOL,
        **kwargs,
    )


def _finetune_needed(target_model, **_):
    # A local / mounted model directory; on HDFS or S3 replace this check with the store's client.
    return "skip_finetune" if os.path.isdir(target_model) else "finetune"


def _unlearn_or_continual(mode, **_):
    return "continual" if mode == "continual" else "unlearn"


with DAG(
    dag_id="lethe_unlearning",
    description="Lethe: ingest, finetune when needed, stats, unlearn or continual, evaluate, report",
    start_date=datetime(2026, 1, 1),
    schedule="@daily",
    catchup=False,
    max_active_runs=1,
    user_defined_macros={"lethe_run_id": lethe_run_id},
    params={
        "jar": "/opt/lethe/lethe-jobs-0.1.0-SNAPSHOT-spark.jar",
        "spark_conn_id": "spark_default",
        "root": "hdfs:///lethe/tables",
        "conf": "/opt/lethe/conf/lethe.conf",
        "input": "hdfs:///lethe/incoming/tofu",
        "dataset": "tofu",
        "target_model": "/mnt/models/target",
        "mode": "unlearn",  # or "continual": the day's deletion requests (lethe continual)
        "report_dir": "/mnt/reports",
    },
    tags=["lethe", "unlearning"],
) as dag:
    ingest = lethe("ingest", "ingest", "--format", "tofu", "--input", "{{ params.input }}",
                   "--root", ROOT, "--dataset", "{{ params.dataset }}", "--conf", CONF)

    needs_finetune = BranchPythonOperator(
        task_id="finetune_needed", python_callable=_finetune_needed,
        op_kwargs={"target_model": TARGET})
    finetune = lethe("finetune", "finetune", "--root", ROOT, "--run-id", "target-" + RID, "--conf", CONF,
                     "--set", "train.output=" + TARGET)
    skip_finetune = EmptyOperator(task_id="skip_finetune")

    stats = lethe("stats", "stats", "--conf", CONF, "--root", ROOT, "--run-id", "stats-" + RID,
                  "--model", TARGET, trigger_rule="none_failed_min_one_success")

    which = BranchPythonOperator(
        task_id="unlearn_or_continual", python_callable=_unlearn_or_continual,
        op_kwargs={"mode": "{{ params.mode }}"})
    unlearn = lethe("unlearn", "unlearn", "--root", ROOT, "--run-id", "unlearn-" + RID, "--conf", CONF,
                    "--set", "unlearn.model=" + TARGET, "--set", "unlearn.output=" + OUTPUT)
    continual = lethe("continual", "continual", "--root", ROOT, "--run-date", "{{ ds }}",
                      "--run-id", "unlearn-" + RID, "--conf", CONF)

    # Evaluates every checkpoint of the run's output directory, in step order.
    evaluate = lethe("evaluate", "evaluate", "--root", ROOT, "--run-id", "unlearn-" + RID,
                     "--model", OUTPUT, "--conf", CONF, trigger_rule="none_failed_min_one_success")
    report = lethe("report", "report", "--root", ROOT,
                   "--out", "{{ params.report_dir }}/lethe-{{ ds }}-" + RID + ".html")

    ingest >> needs_finetune >> [finetune, skip_finetune] >> stats >> which >> [unlearn, continual]
    [unlearn, continual] >> evaluate >> report
