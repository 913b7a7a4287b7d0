"""bench/perf: Lethe against the plain-PyTorch reference on the same machine, in the same run.

Run through bench/perf (which installs OpenBLAS and builds); this file does the measuring:
data and models (target/bench), the matmul peak, unlearning steps (grad_diff and npo on the demo
model and on bench-25m, at the demo default and at a configuration with >= 1 s of compute per
step), evaluation (scoring, generation with and without the KV cache), fixed-length padding
against per-micro-batch padding. Lethe and reference runs alternate (A B A B ...) so they see the
same load; medians over runs. Writes bench/results/summary.csv and summary.md, and raw JSON under
target/bench/raw.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORK = os.path.join(REPO, "target", "bench")
RAW = os.path.join(WORK, "raw")
PY = "/usr/bin/python3"  # Debian's python3 with python3-torch (the pyenv one on PATH has no torch)
REF = os.path.join(HERE, "pytorch", "lethe_ref.py")
LOADS = []


def log(*a):
    print("perf:", *a, file=sys.stderr, flush=True)


def sh(cmd, env=None, out=None):
    log("$", " ".join(cmd))
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if out:
        with open(out + ".err", "w") as f:
            f.write(r.stderr)
    if r.returncode != 0:
        sys.stderr.write(r.stderr[-4000:])
        raise SystemExit("perf: command failed (%d): %s" % (r.returncode, " ".join(cmd)))
    text = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "{}"
    if out:
        with open(out, "w") as f:
            f.write(text + "\n")
    return json.loads(text)


def load1():
    return float(open("/proc/loadavg").read().split()[0])


def busy_cores(seconds=3.0):
    """Cores busy over the next few seconds while this script is idle: the others' load right now
    (the 1-min load average still holds our own previous run for a minute)."""
    def sample():
        f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return sum(f), f[3] + f[4]
    t0, i0 = sample()
    time.sleep(seconds)
    t1, i1 = sample()
    return os.cpu_count() * (1 - (i1 - i0) / max(1, t1 - t0))


def wait_for_quiet(limit=1.5, poll=60, max_wait=600):
    """Others share these cores: wait (up to 10 min) while they keep more than 1.5 cores busy."""
    waited = 0
    busy = busy_cores()
    while busy > limit and waited < max_wait:
        log("others keep %.2f cores busy > %.1f, waiting %d s" % (busy, limit, poll))
        time.sleep(poll)
        waited += poll
        busy = busy_cores()
    LOADS.append(open("/proc/loadavg").read().split()[:3] + ["%.2f" % busy])


def ref_env():
    """The reference's best BLAS setting: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset."""
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    return env


def lethe(*args, out=None, pinned=True):
    # bench/run's fixed, pre-touched heap (1 GiB: under local[*] parameters and gradients stay native;
    # bench-25m needed 3 GiB before that, for its 94 MB gradients and snapshot on the heap).
    # bench/run pins the numerics as bin/lethe does (conf/numerics.env) unless LETHE_REPRODUCIBLE=0.
    env = dict(os.environ, BENCH_JAVA_OPTS="-Xms1g -Xmx1g -XX:+AlwaysPreTouch",
               LETHE_REPRODUCIBLE="1" if pinned else "0")
    if not pinned:
        env.pop("ATEN_CPU_CAPABILITY", None)
        env.pop("MKL_CBWR", None)
    return sh([os.path.join(HERE, "run"), "PerfBench"] + [str(a) for a in args], out=out, env=env)


def ref(*args, out=None, env=None):
    return sh([PY, REF] + [str(a) for a in args], env=env or ref_env(), out=out)


# ----------------------------------------------------------------------------- setup

def prepare():
    os.makedirs(RAW, exist_ok=True)
    lethe_bin = os.path.join(REPO, "bin", "lethe")
    data = os.path.join(WORK, "data")
    if not os.path.exists(os.path.join(data, "manifest.json")):
        sh([lethe_bin, "generate-benchmark", "--out", data, "--authors", "200", "--questions", "20",
            "--vocab-size", "512"])
    for preset in ("demo", "bench-25m"):
        if not os.path.exists(os.path.join(WORK, preset, "config.json")):
            sh([lethe_bin, "init-model", "--out", os.path.join(WORK, preset), "--preset", preset,
                "--tokenizer", os.path.join(data, "tokenizer.json")])
    if not os.path.exists(os.path.join(WORK, "tables", "examples")):
        sh([lethe_bin, "ingest", "--format", "tofu", "--dataset", "synth", "--input", data,
            "--model", os.path.join(WORK, "demo"), "--root", os.path.join(WORK, "tables")])


def n_params(model_dir):
    """N: parameters excluding the embedding table but including the LM head (tied or not)."""
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    with open(os.path.join(model_dir, "model.safetensors"), "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    total = 0
    for name, meta in header.items():
        if name != "__metadata__":
            n = 1
            for d in meta["shape"]:
                n *= d
            total += n
    embed = c["vocab_size"] * c["hidden_size"]
    head = embed  # the LM head: the tied embedding or lm_head.weight, counted once either way
    tied_counted_once = c.get("tie_word_embeddings", False) and "lm_head.weight" not in header
    return total - embed + (head if tied_counted_once else 0), total


# ----------------------------------------------------------------------------- measurements

def med(xs):
    return statistics.median(xs) if xs else float("nan")


def run_stats(steps, skip=1):
    """tokens/s, seconds/step, compute/step over the steps after the first (model loads, warm-up)."""
    s = steps[skip:]
    secs = sum(x["seconds"] for x in s)
    comp = sum(x["compute_seconds"] for x in s)
    toks = sum(x["tokens"] for x in s)
    return {"tokens_per_s": toks / secs, "seconds": secs / len(s), "compute": comp / len(s),
            "share": 1 - comp / secs, "tokens": toks / len(s),
            "ref_tokens": sum(x.get("ref_tokens", 0) for x in s) / len(s)}


def unlearn_pair(name, model, method, batch, micro, steps, partitions, threads, lr, reps, rows):
    lethe_runs, ref_runs = [], []
    for i in range(reps):
        wait_for_quiet()
        l = lethe("unlearn", os.path.join(WORK, "tables"), os.path.join(WORK, model), method, batch, micro, steps,
                  partitions, threads, lr, out=os.path.join(RAW, "%s-%s-lethe-%d.json" % (name, method, i)))
        wait_for_quiet()
        r = ref("unlearn", os.path.join(WORK, model), rows, "--method", method, "--lr", lr, "--threads", threads,
                "--steps", steps, out=os.path.join(RAW, "%s-%s-ref-%d.json" % (name, method, i)))
        lethe_runs.append(l)
        ref_runs.append(r)
    first_l = lethe_runs[0]["steps"][0]["loss"]
    first_r = ref_runs[0]["steps"][0]["loss"]
    worst = max(abs(a["loss"] - b["loss"]) for a, b in zip(lethe_runs[0]["steps"], ref_runs[0]["steps"]))
    ls = [run_stats(x["steps"]) for x in lethe_runs]
    rs = [run_stats(x["steps"]) for x in ref_runs]
    ref_tokens = rs[0]["ref_tokens"]
    return {"lethe": {k: med([x[k] for x in ls]) for k in ls[0]},
            "ref": {k: med([x[k] for x in rs]) for k in rs[0]},
            "runs_lethe": [x["tokens_per_s"] for x in ls], "runs_ref": [x["tokens_per_s"] for x in rs],
            "first_loss": (first_l, first_r), "max_loss_diff": worst, "ref_tokens": ref_tokens,
            "peak_rss_mib": max(x["peak_rss_mib"] for x in lethe_runs),
            "heap_mib": lethe_runs[0]["heap_max_mib"],
            "rss": lethe_runs[-1]["rss_mib"], "torch_threads": lethe_runs[0]["torch_threads"],
            "ref_threads": ref_runs[0]["threads"], "lethe_torch": lethe_runs[0]["torch"],
            "ref_torch": ref_runs[0]["torch"], "master": lethe_runs[0]["master"]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", default="", help="comma-separated parts: peak,demo,demo1s,m25,eval,pad,pinning")
    p.add_argument("--summary-only", action="store_true", help="rewrite the summary from target/bench/raw")
    a = p.parse_args()
    if a.summary_only:
        summarize(json.load(open(os.path.join(RAW, "results.json"))), a.threads)
        return
    parts = set(a.only.split(",")) if a.only else {"peak", "demo", "demo1s", "m25", "eval", "pad", "pinning"}
    prepare()
    t = a.threads
    results = {}
    results_file = os.path.join(RAW, "results.json")
    if os.path.exists(results_file):
        results = json.load(open(results_file))

    def save():
        with open(results_file, "w") as f:
            json.dump(results, f, indent=1)

    if "peak" in parts:
        lp, rp = [], []
        for i in range(a.reps):
            wait_for_quiet()
            lp.append(lethe("peak", t, 2048, 20)["gflops"])
            wait_for_quiet()
            rp.append(ref("peak", "--threads", t, "--size", 2048, "--reps", 20)["gflops"])
        results["peak"] = {"lethe": med(lp), "ref": med(rp), "runs_lethe": lp, "runs_ref": rp}
        save()
    configs = {
        # name: model, batch, micro, steps (the first is warm-up), lr
        "demo": ("demo", 32, 8, 6, "1e-3"),        # unlearn's defaults: batch 32, micro-batch 8, 2 partitions
        "demo1s": ("demo", 128, 32, 6, "1e-3"),    # >= 1 s of forward/backward per step (0.7-0.9 s at 64 on a fast day)
        "m25": ("bench-25m", 16, 8, 5, "1e-4"),    # the 20-30M model, >= 1 s per step
    }
    for name, (model, batch, micro, steps, lr) in configs.items():
        if name not in parts:
            continue
        rows = os.path.join(WORK, "rows-%s-%dx%d.jsonl" % (model, batch, micro))
        if not os.path.exists(rows):
            lethe("export", os.path.join(WORK, "tables"), os.path.join(WORK, model), batch, micro, steps, rows)
        for method in ("grad_diff", "npo"):
            results["%s/%s" % (name, method)] = unlearn_pair(name, model, method, batch, micro, steps, 2, t, lr,
                                                             a.reps, rows)
            results["%s/%s" % (name, method)]["config"] = {"model": model, "batch": batch, "micro": micro,
                                                           "steps": steps, "partitions": 2, "lr": lr}
            save()
    if "scale" in parts:
        # Partitions on embedded local[*] (2 cores). One JVM: backward passes are serialized
        # (one PyTorch autograd pass per JVM), so partitions only overlap the Spark work.
        rows = os.path.join(WORK, "rows-demo-64x32.jsonl")
        for parts_n in (1, 2, 4):
            runs = []
            for i in range(max(1, a.reps - 1)):
                wait_for_quiet()
                l = lethe("unlearn", os.path.join(WORK, "tables"), os.path.join(WORK, "demo"), "grad_diff", 64, 16,
                          6, parts_n, t, "1e-3", out=os.path.join(RAW, "scale-%d-lethe-%d.json" % (parts_n, i)))
                runs.append(run_stats(l["steps"]))
            results["scale/%d" % parts_n] = {k: med([x[k] for x in runs]) for k in runs[0]}
            save()
    if "pad" in parts:
        # What padding every sequence to a fixed length (TOFU pads to its max_length) costs
        # against padding each micro-batch to its longest row (Lethe and the reference).
        for model, batch, micro in (("demo", 64, 32), ("bench-25m", 16, 8)):
            rows = os.path.join(WORK, "rows-%s-%dx%d.jsonl" % (model, batch, micro))
            longest = max(len(json.loads(l)["input_ids"]) for l in open(rows))
            fixed, dyn = [], []
            for i in range(max(1, a.reps - 1)):
                wait_for_quiet()
                dyn.append(run_stats(ref("unlearn", os.path.join(WORK, model), rows, "--method", "grad_diff", "--lr",
                                         "1e-4", "--threads", t, "--steps", 4)["steps"])["tokens_per_s"])
                wait_for_quiet()
                fixed.append(run_stats(ref("unlearn", os.path.join(WORK, model), rows, "--method", "grad_diff", "--lr",
                                           "1e-4", "--threads", t, "--steps", 4, "--pad", "fixed:%d" % longest)
                                       ["steps"])["tokens_per_s"])
            results["pad/" + model] = {"dynamic": med(dyn), "fixed": med(fixed), "length": longest}
            save()
    if "eval" in parts:
        for model, prompts in (("demo", 4), ("bench-25m", 1)):
            rows = os.path.join(WORK, "rows-%s-%dx%d.jsonl" % ((model, 64, 32) if model == "demo" else (model, 16, 8)))
            le, re_ = [], []
            for i in range(max(1, a.reps - 1)):
                wait_for_quiet()
                # The first run also generates for one batch of 8 prompts, as the evaluation does
                # (lethe.eval.batch_size); Lethe only: the reference decodes one prompt at a time.
                le.append(lethe("eval", os.path.join(WORK, model), rows, t, 32, 200, prompts, 8 if i == 0 else 0,
                                out=os.path.join(RAW, "eval-%s-lethe-%d.json" % (model, i))))
                wait_for_quiet()
                re_.append(ref("eval", os.path.join(WORK, model), rows, "--threads", t, "--batch", 32,
                               "--new-tokens", 200, "--prompts", prompts,
                               out=os.path.join(RAW, "eval-%s-ref-%d.json" % (model, i))))

            def rate(runs, key):
                return med([r[key + "_tokens"] / r[key + "_seconds"] for r in runs])

            results["eval/" + model] = {side: {k: rate(runs, k) for k in ("score", "generate_cache", "generate_nocache")}
                                        for side, runs in (("lethe", le), ("ref", re_))}
            results["eval/" + model]["lethe"].update({k: rate(le[:1], k)
                                                      for k in ("generate_batch_cache", "generate_batch_nocache")})
            save()
    if "pinning" in parts:
        # Issue 17: Lethe pinned (ATEN_CPU_CAPABILITY=avx2, MKL_CBWR=AVX2; the same thread count) against
        # Lethe on this CPU's own kernels, alternating runs.
        pin = {}
        for name, model, batch, micro in (("demo1s", "demo", 128, 32), ("m25", "bench-25m", 16, 8)):
            rows = os.path.join(WORK, "rows-%s-%dx%d.jsonl" % (model, batch, micro))
            if not os.path.exists(rows):
                lethe("export", os.path.join(WORK, "tables"), os.path.join(WORK, model), batch, micro, 6, rows)
            runs = {True: [], False: []}
            for i in range(a.reps):
                for pinned in (True, False):
                    wait_for_quiet()
                    l = lethe("unlearn", os.path.join(WORK, "tables"), os.path.join(WORK, model), "grad_diff", batch,
                              micro, 6 if model == "demo" else 5, 2, t, "1e-3" if model == "demo" else "1e-4",
                              pinned=pinned, out=os.path.join(RAW, "pin-%s-%s-%d.json" % (name, pinned, i)))
                    runs[pinned].append(run_stats(l["steps"])["tokens_per_s"])
            pin["unlearn_grad_diff_%s_%dx%d" % (model, batch, micro)] = {
                "pinned": med(runs[True]), "unpinned": med(runs[False]), "runs": runs}
        rows = os.path.join(WORK, "rows-demo-64x32.jsonl")
        if not os.path.exists(rows):
            lethe("export", os.path.join(WORK, "tables"), os.path.join(WORK, "demo"), 64, 32, 6, rows)
        ev = {True: [], False: []}
        for i in range(max(1, a.reps - 1)):
            for pinned in (True, False):
                wait_for_quiet()
                ev[pinned].append(lethe("eval", os.path.join(WORK, "demo"), rows, t, 32, 200, 4, 8, pinned=pinned,
                                        out=os.path.join(RAW, "pin-eval-%s-%d.json" % (pinned, i))))
        for key in ("score", "generate_cache", "generate_batch_cache"):
            runs = {p: [r[key + "_tokens"] / r[key + "_seconds"] for r in ev[p]] for p in (True, False)}
            pin["eval_%s_demo" % key] = {"pinned": med(runs[True]), "unpinned": med(runs[False]), "runs": runs}
        results["pinning"] = pin
        save()
        write_pinning(pin, t)
    results["loads"] = results.get("loads", []) + LOADS
    save()
    summarize(results, t)


# ----------------------------------------------------------------------------- summary

def write_pinning(pin, threads):
    """bench/results/pinning.md: Lethe's throughput with and without the numeric pins (issue 17)."""
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    loads = [float(x[0]) for x in LOADS]
    with open(os.path.join(HERE, "results", "pinning.md"), "w") as f:
        f.write("# Throughput with and without the numeric pins (`bench/perf --only pinning`)\n\n")
        f.write("%s UTC, %d cores (%s), %d torch threads both ways. Pinned: `ATEN_CPU_CAPABILITY=avx2`, "
                "`MKL_CBWR=AVX2` (what bin/lethe sets); unpinned: `LETHE_REPRODUCIBLE=0`, this CPU's own "
                "kernels. Runs alternate pinned / unpinned; medians (tokens/s), every run listed. 1-min load "
                "average before each run: %s to %s.\n\n"
                % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), os.cpu_count(), cpu, threads,
                   min(loads) if loads else "?", max(loads) if loads else "?"))
        f.write("| measurement | pinned | unpinned | pinned / unpinned | pinned runs | unpinned runs |\n"
                "|---|---|---|---|---|---|\n")
        for key, p in sorted(pin.items()):
            runs = p.get("runs", {})
            fmt = lambda xs: ", ".join("%.0f" % x for x in xs)
            f.write("| %s | %.0f | %.0f | %.3f | %s | %s |\n" % (key, p["pinned"], p["unpinned"],
                                                                 p["pinned"] / p["unpinned"],
                                                                 fmt(runs.get(True, runs.get("true", []))),
                                                                 fmt(runs.get(False, runs.get("false", [])))))
    log("wrote bench/results/pinning.md")


def summarize(results, threads):
    rows = []

    def row(metric, lethe_v, ref_v, unit, higher):
        ratio = ""
        if lethe_v not in ("", None) and ref_v not in ("", None) and lethe_v and ref_v:
            ratio = "%.3f" % ((lethe_v / ref_v) if higher else (ref_v / lethe_v))
        fmt = lambda v: "" if v in ("", None) else ("%.4g" % v if isinstance(v, float) else str(v))
        rows.append([metric, fmt(lethe_v), fmt(ref_v), ratio, unit, "true" if higher else "false"])

    peak = results.get("peak")
    if peak:
        row("matmul_peak_fp32_2048", peak["lethe"], peak["ref"], "GFLOP/s", True)
    machine_peak = max(peak["lethe"], peak["ref"]) if peak else None
    models = {"demo": "demo", "bench-25m": "bench25m"}
    for key in sorted(k for k in results if "/" in k and k.split("/")[0] in ("demo", "demo1s", "m25")):
        r = results[key]
        name, method = key.split("/")
        c = r["config"]
        m = models[c["model"]]
        n, _ = n_params(os.path.join(WORK, c["model"]))
        label = "%s_%s" % (method, m) if name != "demo" else "%s_%s_default" % (method, m)
        tag = "batch %dx%d" % (c["batch"], c["micro"])
        if name == "demo":
            row("step_tokens_per_s_" + label, r["lethe"]["tokens_per_s"], r["ref"]["tokens_per_s"], "tokens/s", True)
        else:
            row("unlearn_throughput_" + label, r["lethe"]["tokens_per_s"], r["ref"]["tokens_per_s"], "tokens/s", True)
        row("compute_seconds_per_step_" + label, r["lethe"]["compute"], r["ref"]["compute"], "s", False)
        row("step_seconds_" + label, r["lethe"]["seconds"], r["ref"]["seconds"], "s", False)
        row("spark_share_" + label, r["lethe"]["share"], "", "fraction of step", False)
        row("first_batch_loss_" + label, r["first_loss"][0], r["first_loss"][1], "loss", True)
        rows[-1][3] = ""
        rows[-1][5] = ""
        row("max_loss_diff_" + label, r["max_loss_diff"], "", "abs over the run's steps", False)
        if machine_peak and name != "demo":
            ref_rate_l = r["ref_tokens"] / r["lethe"]["seconds"] if method == "npo" else 0.0
            ref_rate_r = r["ref_tokens"] / r["ref"]["seconds"] if method == "npo" else 0.0
            mfu = lambda tps, rtps: (6 * n * tps + 2 * n * rtps) / (machine_peak * 1e9)
            row("mfu_%s_N%d" % (label, n), mfu(r["lethe"]["tokens_per_s"], ref_rate_l),
                mfu(r["ref"]["tokens_per_s"], ref_rate_r), "fraction of peak", True)
        row("peak_rss_" + label, r["peak_rss_mib"], "", "MiB (Lethe JVM, %d MiB heap)" % r.get("heap_mib", 1024), False)
    for model in ("demo", "bench-25m"):
        e = results.get("eval/" + model)
        if not e:
            continue
        m = models[model]
        row("eval_score_tokens_per_s_" + m, e["lethe"]["score"], e["ref"]["score"], "tokens/s", True)
        row("eval_generate_kv_cache_tokens_per_s_" + m, e["lethe"]["generate_cache"], e["ref"]["generate_cache"],
            "tokens/s", True)
        row("eval_generate_no_cache_tokens_per_s_" + m, e["lethe"]["generate_nocache"], e["ref"]["generate_nocache"],
            "tokens/s", True)
        row("kv_cache_speedup_200_tokens_" + m, e["lethe"]["generate_cache"] / e["lethe"]["generate_nocache"],
            e["ref"]["generate_cache"] / e["ref"]["generate_nocache"], "x", True)
        if "generate_batch_cache" in e["lethe"]:
            row("eval_generate_kv_cache_tokens_per_s_batch8_" + m, e["lethe"]["generate_batch_cache"], "", "tokens/s", True)
            row("eval_generate_no_cache_tokens_per_s_batch8_" + m, e["lethe"]["generate_batch_nocache"], "", "tokens/s",
                True)
            row("kv_cache_speedup_200_tokens_batch8_" + m,
                e["lethe"]["generate_batch_cache"] / e["lethe"]["generate_batch_nocache"], "", "x", True)
    for n in (1, 2, 4):
        sc = results.get("scale/%d" % n)
        if sc:
            row("scaling_tokens_per_s_local_partitions_%d_grad_diff_demo_64x16" % n, sc["tokens_per_s"], "",
                "tokens/s", True)
            row("scaling_spark_share_local_partitions_%d_grad_diff_demo_64x16" % n, sc["share"], "",
                "fraction of step", False)
    for model in ("demo", "bench-25m"):
        pd = results.get("pad/" + model)
        if pd:
            row("padding_fixed_%d_vs_per_micro_batch_%s" % (pd["length"], models[model]), "", pd["fixed"] / pd["dynamic"],
                "x tokens/s (reference, grad_diff)", True)
    for key, p in sorted(results.get("pinning", {}).items()):
        row("pinned_vs_unpinned_tokens_per_s_" + key, p["pinned"], p["unpinned"],
            "tokens/s (Lethe pinned | Lethe unpinned, this CPU's kernels)", True)
    any_run = next((results[k] for k in results if k.startswith(("m25/", "demo1s/", "demo/"))), None)
    if any_run:
        row("torch_threads", any_run["torch_threads"], any_run["ref_threads"], "threads", True)
        rows[-1][3] = ""
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "summary.csv"), "w") as f:
        f.write("metric,lethe,reference,ratio,unit,higher_is_better\n")
        for r in rows:
            f.write(",".join(r) + "\n")
    loads = results.get("loads", [])
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    with open(os.path.join(HERE, "results", "summary.md"), "w") as f:
        f.write("# Lethe vs plain PyTorch (`bench/perf`)\n\n")
        f.write("%s UTC, %s, %d cores (%s), %s threads each side; Lethe: DJL %s / libtorch %s, "
                "embedded Spark %s; reference: Debian torch %s + OpenBLAS (pthread), OPENBLAS_CORETYPE and "
                "OPENBLAS_L2_SIZE unset (neither was set on this machine). Before each measurement: 1-min load "
                "average %s to %s (mostly our own previous run), cores kept busy by others at most %s.\n\n"
                % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), platform.node() or "host", os.cpu_count(),
                   cpu, threads, "0.35.1", any_run["lethe_torch"] if any_run else "?",
                   any_run["master"] if any_run else "?", any_run["ref_torch"] if any_run else "?",
                   min(float(x[0]) for x in loads) if loads else "?",
                   max(float(x[0]) for x in loads) if loads else "?",
                   max((float(x[3]) for x in loads if len(x) > 3), default="?")))
        f.write("| metric | lethe | reference | ratio | unit | higher is better |\n|---|---|---|---|---|---|\n")
        for r in rows:
            f.write("| " + " | ".join(r) + " |\n")
    log("wrote bench/results/summary.csv and summary.md")


if __name__ == "__main__":
    main()
