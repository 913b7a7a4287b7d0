"""bench/numerics-matrix: the seeded finetune + unlearn under simulated CPU environments (issue 17)."""
import argparse, csv, hashlib, json, os, platform, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LETHE = str(REPO / "bin" / "lethe")
WORK = REPO / "target" / "bench" / "numerics"

# name -> (environment, extra --set); the first is what this machine does with nothing set. Every
# setting runs with LETHE_REPRODUCIBLE=0 (bin/lethe then sets no pin, and the jobs accept any
# environment, with torch's default thread count unless model.threads is given) except "launcher",
# which is what bin/lethe does by default since issue 17.
SETTINGS = [
    ("unset", {}, []),
    ("aten_avx2", {"ATEN_CPU_CAPABILITY": "avx2"}, []),
    ("aten_avx512", {"ATEN_CPU_CAPABILITY": "avx512"}, []),
    ("aten_default", {"ATEN_CPU_CAPABILITY": "default"}, []),
    ("mkl_avx2", {"MKL_ENABLE_INSTRUCTIONS": "AVX2"}, []),
    ("mkl_cbwr_compatible", {"MKL_CBWR": "COMPATIBLE"}, []),
    ("onednn_avx2", {"ONEDNN_MAX_CPU_ISA": "AVX2"}, []),
    ("threads_1", {}, ["model.threads=1"]),
    ("threads_4", {}, ["model.threads=4"]),
    ("aten_avx2_t1", {"ATEN_CPU_CAPABILITY": "avx2"}, ["model.threads=1"]),
    ("pinned_t1", {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
                   "ONEDNN_MAX_CPU_ISA": "AVX2"}, ["model.threads=1"]),
    ("pinned_t2", {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
                   "ONEDNN_MAX_CPU_ISA": "AVX2"}, ["model.threads=2"]),
    ("launcher", {"LETHE_REPRODUCIBLE": "1"}, []),
]


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def lethe(args, env, log):
    full = dict(os.environ, LETHE_REPRODUCIBLE="0")
    for name in ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA"):
        full.pop(name, None)
    full.update(env)
    with open(log, "w") as err:
        out = subprocess.run([LETHE] + args, env=full, stdout=subprocess.PIPE, stderr=err, text=True)
    if out.returncode != 0:
        sys.exit(f"lethe {args[0]} failed ({out.returncode}); see {log}")
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    only = set(filter(None, ap.parse_args().only.split(",")))
    WORK.mkdir(parents=True, exist_ok=True)
    bench, root = WORK / "bench", WORK / "root"
    if not (bench / "manifest.json").exists():
        subprocess.run([LETHE, "generate-benchmark", "--out", str(bench), "--authors", "10"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lethe(["ingest", "--format", "tofu", "--input", str(bench), "--root", str(root), "--dataset", "synth"], {},
          WORK / "ingest.log")
    rows = []
    for name, env, sets in SETTINGS:
        if only and name not in only:
            continue
        set_args = [a for s in sets for a in ("--set", s)]
        t0 = time.time()
        ft = lethe(["finetune", "--root", str(root), "--run-id", "ft-" + name, "--set", "train.dataset=synth",
                    "--set", "train.tokenizer=" + str(bench / "tokenizer.json"), "--set", "train.init_preset=demo",
                    "--set", "train.epochs=1", "--set", "train.max_steps=4", "--set", "train.batch_size=16",
                    "--set", "train.resume=false", "--set", "train.output=" + str(WORK / "ckpt" / ("ft-" + name))]
                   + set_args, env, WORK / f"ft-{name}.log")
        ul = lethe(["unlearn", "--root", str(root), "--run-id", "ul-" + name, "--set", "unlearn.dataset=synth",
                    "--set", "unlearn.model=" + ft["checkpoint"], "--set", "unlearn.method=npo",
                    "--set", "unlearn.max_steps=3", "--set", "unlearn.batch_size=8", "--set", "unlearn.lr=1e-3",
                    "--set", "unlearn.resume=false", "--set", "unlearn.output=" + str(WORK / "ckpt" / ("ul-" + name))]
                   + set_args, env, WORK / f"ul-{name}.log")
        lethe(["evaluate", "--root", str(root), "--run-id", "ev-" + name, "--model", ul["checkpoint"],
               "--set", "eval.dataset=synth", "--set", "eval.max_samples=8", "--set", "eval.max_new_tokens=8",
               "--set", "eval.step=0"] + set_args, env, WORK / f"ev-{name}.log")
        values = subprocess.run([LETHE, "sql", "--root", str(root), "--csv", "SELECT split, sample_id, metric, value,"
                                 " generation FROM eval_samples WHERE run_id = 'ev-" + name + "' ORDER BY split,"
                                 " sample_id, metric"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                check=True).stdout
        rows.append({"setting": name, "env": " ".join(f"{k}={v}" for k, v in env.items()) + (" " if env and sets else "")
                     + " ".join(sets), "finetune_weights": sha(Path(ft["checkpoint"]) / "model.safetensors"),
                     "finetune_last_loss": repr(ft["last_loss"]), "unlearn_weights": sha(Path(ul["checkpoint"]) / "model.safetensors"),
                     "unlearn_last_loss": repr(ul["last_loss"]),
                     "eval_samples": hashlib.sha256(values.encode()).hexdigest()[:16] + f" ({values.count(chr(10)) - 1} values)",
                     "seconds": round(time.time() - t0)})
        print(rows[-1], flush=True)
    results = HERE / "results"
    # --only re-measures some settings: the others keep their last measured rows.
    if only and (results / "numerics.csv").exists():
        kept = [r for r in csv.DictReader(open(results / "numerics.csv")) if r["setting"] not in only]
        order = [n for n, _, _ in SETTINGS]
        rows = sorted(kept + rows, key=lambda r: order.index(r["setting"]))
    with open(results / "numerics.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    base = next(r for r in rows if r["setting"] == "unset")
    with open(results / "numerics.md", "w") as f:
        f.write("# Weights under simulated CPU environments (bench/numerics-matrix)\n\n")
        f.write(f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.processor() or 'x86_64'}"
                f" ({os.cpu_count()} cores; /proc/cpuinfo: {cpu()}). Seeded: demo-preset fine-tune, 4 steps of batch 16"
                " (2 partitions), then npo, 3 steps of batch 8, then evaluate of the unlearned model (8 items per set, 8"
                " new tokens; every eval_samples value and generation hashed), each in its own JVM through bin/lethe.\n\n")
        f.write("| setting | environment | finetune weights | = unset | unlearn weights | = unset | unlearn last loss"
                " | eval_samples of the unlearned model | = unset |\n")
        f.write("|---|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(f"| {r['setting']} | {r['env'] or '(nothing set)'} | {r['finetune_weights']} | "
                    f"{r['finetune_weights'] == base['finetune_weights']} | {r['unlearn_weights']} | "
                    f"{r['unlearn_weights'] == base['unlearn_weights']} | {r['unlearn_last_loss']} | "
                    f"{r.get('eval_samples', '')} | {r.get('eval_samples') == base.get('eval_samples')} |\n")


def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                avx512 = "avx512f" in line.split()
                return f"{name}, avx512f {'yes' if avx512 else 'no'}"
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
