"""bench/demo-memory: the whole `lethe demo` with the JVM's default heap, its memory over time.

Run through bench/demo-memory. Starts `bin/lethe demo` on a fresh root with LETHE_HEAP set to the
JVM's ergonomic default max heap (what java picks without -Xmx; bin/lethe always passes -Xmx, so
the default is passed explicitly) or to --heap, samples the java process's VmRSS / VmHWM every
second (/proc/PID/status), logs every GC (-Xlog:gc, heap before -> after (committed)), and stamps
each `step N/M` log line as it arrives, so resident memory can be read at every optimizer step of
every training run (finetune target, finetune retain-only, each unlearning method). Writes
bench/results/demo-memory.md (or --out) and the per-second samples as CSV beside it; work files
under target/bench/demo-memory.
"""
import argparse
import datetime
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORK = os.path.join(REPO, "target", "bench", "demo-memory")
STEP = re.compile(r"\b(finetune|unlearn) (\S+): step (\d+)/(\d+) ")
COMMITTED = re.compile(r"table runs: committed \[run_id=([^/\]]+)/job=([^\]]+)\]")
NMT_TOTAL = re.compile(r"^Total: reserved=\d+KB, committed=(\d+)KB", re.M)
NMT_CATEGORY = re.compile(r"^-\s+(.+?) \(reserved=\d+KB, committed=(\d+)KB", re.M)
GC = re.compile(r"^\[(\d+)ms\].*GC\(\d+\) (Pause \S+(?: \([^)]*\))*|Concurrent \S+).*? (\d+)M->(\d+)M\((\d+)M\)")


def log(*a):
    print("demo-memory:", *a, file=sys.stderr, flush=True)


def default_max_heap_mib():
    out = subprocess.run(["java", "-XX:+PrintFlagsFinal", "-version"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True).stdout
    m = re.search(r"\bMaxHeapSize\s*=\s*(\d+)", out)
    if not m:
        raise SystemExit("demo-memory: java -XX:+PrintFlagsFinal printed no MaxHeapSize")
    return int(m.group(1)) // (1024 * 1024)


def status(pid):
    """(VmRSS, VmHWM) in MiB, or None once the process is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            text = f.read()
    except OSError:
        return None
    v = {}
    for line in text.splitlines():
        k, _, rest = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            v[k] = int(rest.split()[0]) / 1024.0
    return v.get("VmRSS"), v.get("VmHWM")


def is_java(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return b"org.lethe.jobs.Lethe" in f.read() and os.readlink("/proc/%d/exe" % pid).endswith("java")
    except OSError:
        return False


def jcmd(pid, *command):
    """`jcmd PID COMMAND...`'s output, or '' when it cannot run."""
    try:
        return subprocess.run(["jcmd", str(pid)] + list(command), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def nmt_summary(pid):
    """Native Memory Tracking's committed MiB: {'total': .., category: ..}, or None."""
    out = jcmd(pid, "VM.native_memory", "summary")
    m = NMT_TOTAL.search(out)
    if not m:
        return None
    v = {"total": int(m.group(1)) / 1024.0}
    for c in NMT_CATEGORY.finditer(out):
        v[c.group(1).strip()] = int(c.group(2)) / 1024.0
    return v


HEAP_RANGE = re.compile(r"heap\s+total \d+K, used \d+K \[0x([0-9a-f]+), 0x([0-9a-f]+)\)")
VMA = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) ")


def heap_range(pid):
    """The Java heap's reserved address range from `jcmd GC.heap_info` (G1), or None."""
    m = HEAP_RANGE.search(jcmd(pid, "GC.heap_info"))
    return (int(m.group(1), 16), int(m.group(2), 16)) if m else None


def resident_in(pid, lo, hi):
    """MiB resident (smaps Rss) in the mappings inside [lo, hi): the heap actually in memory."""
    kib, inside = 0, False
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                m = VMA.match(line)
                if m:
                    inside = int(m.group(1), 16) >= lo and int(m.group(2), 16) <= hi
                elif inside and line.startswith("Rss:"):
                    kib += int(line.split()[1])
    except OSError:
        return None
    return kib / 1024.0


def uptime():
    return subprocess.run(["uptime"], stdout=subprocess.PIPE, text=True).stdout.strip()


def slope(xs, ys):
    n = len(xs)
    if n < 2:
        return float("nan")
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else float("nan")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--heap", default="default", help="'default' (the JVM's ergonomic max heap) or a size: 2g")
    p.add_argument("--preset", default="quick")
    p.add_argument("--out", default=os.path.join(HERE, "results", "demo-memory.md"))
    p.add_argument("--set", action="append", default=[], help="passed to lethe demo (a shorter smoke run)")
    p.add_argument("--nmt", type=float, default=20.0,
                   help="seconds between Native Memory Tracking snapshots (jcmd VM.native_memory); 0: off")
    a = p.parse_args()
    ergonomic = default_max_heap_mib()
    heap = "%dm" % ergonomic if a.heap == "default" else a.heap
    tag = "heap-" + a.heap
    work = os.path.join(WORK, tag)
    root = os.path.join(work, "root")
    subprocess.run(["rm", "-rf", work], check=True)   # a fresh root: the demo resumes finished work otherwise
    os.makedirs(work)
    gc_log = os.path.join(work, "gc.log")
    env = dict(os.environ, LETHE_HEAP=heap,
               LETHE_JAVA_OPTS=(os.environ.get("LETHE_JAVA_OPTS", "") + " -Xlog:gc:file=%s:timemillis" % gc_log
                                + (" -XX:NativeMemoryTracking=summary" if a.nmt > 0 else "")).strip())
    cmd = [os.path.join(REPO, "bin", "lethe"), "demo", "--root", root, "--preset", a.preset]
    for s in a.set:
        cmd += ["--set", s]
    load_before = uptime()
    log("uptime before:", load_before)
    log("$ LETHE_HEAP=%s" % heap, " ".join(cmd))
    t0 = time.time()
    stderr_file = open(os.path.join(work, "demo.err"), "w", buffering=1)   # line-buffered: progress visible
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    steps = []   # (time, job, run id, step, total)
    commits = []   # (time, job, run id): a job's run row committed, i.e. the job finished
    stdout_lines = []

    def read_err():
        for line in proc.stderr:
            now = time.time()
            stderr_file.write(line)
            m = STEP.search(line)
            if m:
                steps.append((now, m.group(1), m.group(2), int(m.group(3)), int(m.group(4))))
            c = COMMITTED.search(line)
            if c:
                commits.append((now, c.group(2), c.group(1)))

    def read_out():
        for line in proc.stdout:
            stdout_lines.append(line)

    threads = [threading.Thread(target=read_err, daemon=True), threading.Thread(target=read_out, daemon=True)]
    for t in threads:
        t.start()
    samples = []   # (time, rss, hwm)
    snapshots = []   # (time, rss, nmt dict, resident heap)
    stop = threading.Event()

    def take_snapshots():
        heap_at = None
        while not stop.wait(a.nmt):
            if proc.poll() is None and is_java(proc.pid):
                heap_at = heap_at or heap_range(proc.pid)
                v = nmt_summary(proc.pid)
                s = status(proc.pid)
                resident = resident_in(proc.pid, *heap_at) if heap_at else None
                if v and s and s[0] is not None and resident is not None:
                    snapshots.append((time.time(), s[0], v, resident))

    if a.nmt > 0:
        threads.append(threading.Thread(target=take_snapshots, daemon=True))
        threads[-1].start()
    try:
        # bin/lethe execs java under the same pid (after its build check)
        while proc.poll() is None:
            if is_java(proc.pid):
                s = status(proc.pid)
                if s and s[0] is not None:
                    samples.append((time.time(), s[0], s[1]))
            time.sleep(1.0)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
    for t in threads:
        t.join()
    stderr_file.close()
    wall = time.time() - t0
    load_after = uptime()
    log("exit", proc.returncode, "after %.0f s; uptime after: %s" % (wall, load_after))

    gcs = []   # (time, kind, before, after, committed)
    if os.path.exists(gc_log):
        for line in open(gc_log):
            m = GC.search(line)
            if m:
                gcs.append((int(m.group(1)) / 1000.0, m.group(2), int(m.group(3)), int(m.group(4)), int(m.group(5))))

    def committed_at(t):
        c = None
        for g in gcs:
            if g[0] <= t:
                c = g[4]
            else:
                break
        return c

    def rss_at(t):
        """The last sample at or before t (the step's log line is printed when the step ends)."""
        best = None
        for s in samples:
            if s[0] <= t:
                best = s
            else:
                break
        return best

    csv_path = os.path.splitext(a.out)[0] + "-samples.csv"
    with open(csv_path, "w") as f:
        f.write("seconds,rss_mib,hwm_mib,heap_committed_mib\n")
        for s in samples:
            c = committed_at(s[0])
            f.write("%.1f,%.1f,%.1f,%s\n" % (s[0] - t0, s[1], s[2], "" if c is None else c))

    runs = {}
    for st in steps:
        runs.setdefault((st[1], st[2]), []).append(st)
    peak_hwm = max((s[2] for s in samples), default=float("nan"))
    peak_rss = max((s[1] for s in samples), default=float("nan"))
    lines = []
    w = lines.append
    w("# Demo memory: `lethe demo --preset %s` with %s heap" % (a.preset, "the JVM's default" if a.heap == "default"
                                                                   else a.heap))
    w("")
    w("Measured %s by `bench/demo-memory%s` (`bench/demo_memory.py`): one run of `bin/lethe demo --root %s"
      " --preset %s%s` on a fresh root, with `LETHE_HEAP=%s` (the JVM's ergonomic default max heap on this"
      " machine is %d MiB, 1/4 of RAM; bin/lethe always passes -Xmx, so %s)." % (
          datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
          "" if a.heap == "default" else " --heap " + a.heap,
          os.path.relpath(root, REPO), a.preset, "".join(" --set " + s for s in a.set), heap, ergonomic,
          "the default is passed explicitly" if a.heap == "default" else "this run overrides it"))
    w("Resident memory (VmRSS, VmHWM of /proc/PID/status) is sampled every second; GCs are logged with"
      " `-Xlog:gc`; each `step N/M` line of the job's log is time-stamped as it arrives and paired with the"
      " last RSS sample before it. Embedded Spark local[*]: driver and executors are this one JVM, so its RSS"
      " is the whole demo's.")
    w("")
    w("- exit status: %d; wall time %.0f s (JVM start to exit, build check included)" % (proc.returncode, wall))
    w("- load: before `%s`; after `%s` (2 cores, shared with other builds)" % (load_before, load_after))
    arenas = os.environ.get("MALLOC_ARENA_MAX")
    w("- glibc malloc arenas: " + ("`MALLOC_ARENA_MAX=%s`" % arenas if arenas
                                   else "MALLOC_ARENA_MAX not set (glibc's default, 8 per core)"))
    w("- peak RSS (VmHWM): **%.0f MiB**; largest 1-s RSS sample %.0f MiB; %d samples" % (peak_hwm, peak_rss,
                                                                                          len(samples)))
    if gcs:
        w("- GCs: %d; largest heap after GC **%d MiB**, largest heap before GC %d MiB, largest committed heap"
          " %d MiB (max heap %s)" % (len(gcs), max(g[3] for g in gcs), max(g[2] for g in gcs),
                                     max(g[4] for g in gcs), heap))
        full = [g for g in gcs if "Full" in g[1]]
        w("- full GCs: %d" % len(full))
    if proc.returncode != 0:
        w("- the run FAILED; last stderr lines:")
        w("")
        w("```")
        with open(os.path.join(work, "demo.err")) as f:
            for line in f.readlines()[-15:]:
                w(line.rstrip()[:300])
        w("```")
    w("")
    w("Native memory across steps, per training run: RSS after the first and the last step, the"
      " least-squares slope of RSS per step over the steps after the first, and the same for RSS minus"
      " the committed heap (the heap's committed size from the last GC before the step: what is not heap"
      " is native; libtorch, Spark's off-heap buffers, thread stacks, metaspace, code).")
    w("")
    w("| job | run | steps | RSS first step MiB | RSS last step MiB | RSS slope MiB/step | non-heap first MiB"
      " | non-heap last MiB | non-heap slope MiB/step |")
    w("|---|---|---|---|---|---|---|---|---|")
    for (job, run), st in runs.items():
        pts = []
        for s in st:
            r = rss_at(s[0])
            c = committed_at(s[0])
            if r is not None:
                pts.append((s[3], r[1], None if c is None else r[1] - c))
        if not pts:
            continue
        later = pts[1:] if len(pts) > 2 else pts
        nh = [x for x in later if x[2] is not None]
        fmt = lambda v: "" if v is None else "%.0f" % v
        w("| %s | %s | %d | %.0f | %.0f | %+.2f | %s | %s | %s |" % (
            job, run, len(pts), pts[0][1], pts[-1][1], slope([x[0] for x in later], [x[1] for x in later]),
            fmt(pts[0][2]), fmt(pts[-1][2]),
            "%+.2f" % slope([x[0] for x in nh], [x[2] for x in nh]) if len(nh) > 1 else ""))
    w("")
    if snapshots:
        w("Where the native memory is (Native Memory Tracking, `jcmd VM.native_memory summary` every %.0f s):"
          " the first snapshot, the first one after each job of the demo finished, and the last. The JVM's own"
          " native memory is NMT's committed total minus the heap (code cache, metaspace and classes, thread"
          " stacks, GC structures, NIO buffers under Other). What NMT does not see is the native libraries'"
          " malloc and mmap: libtorch's tensors and allocator caches, the tokenizers. NMT counts the committed"
          " heap whole, resident or not, so the heap's resident part is read from /proc/PID/smaps (the mappings"
          " inside the heap's range from `jcmd GC.heap_info`), and what NMT does not see is RSS minus the"
          " resident heap minus the JVM's native memory." % a.nmt)
        w("")
        w("| s | after | RSS MiB | heap resident MiB | heap committed MiB | JVM native MiB | code MiB"
          " | metaspace + class MiB | thread MiB | other MiB | not in NMT MiB |")
        w("|---|---|---|---|---|---|---|---|---|---|---|")
        picks = [(snapshots[0], "start")]
        for c in commits:
            after = next((x for x in snapshots if x[0] >= c[0]), None)
            if after is not None and all(after is not p[0] for p in picks):
                picks.append((after, "%s %s" % (c[1], c[2])))
        if all(snapshots[-1] is not p[0] for p in picks):
            picks.append((snapshots[-1], "last snapshot"))
        for (t, rss, v, resident), label in picks:
            heap_c = v.get("Java Heap", 0.0)
            jvm = v["total"] - heap_c
            w("| %.0f | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |" % (
                t - t0, label, rss, resident, heap_c, jvm, v.get("Code", 0.0),
                v.get("Metaspace", 0.0) + v.get("Class", 0.0), v.get("Thread", 0.0), v.get("Other", 0.0),
                rss - resident - jvm))
        w("")
    if stdout_lines:
        w("The demo's output (stdout):")
        w("")
        w("```")
        for line in stdout_lines:
            w(line.rstrip())
        w("```")
    w("")
    w("Samples (seconds since start, RSS, HWM, committed heap): `%s`." % os.path.relpath(csv_path, REPO))
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    log("wrote", a.out, "and", csv_path)
    sys.stdout.write("\n".join(lines) + "\n")
    if proc.returncode != 0:
        raise SystemExit(proc.returncode)


if __name__ == "__main__":
    main()
