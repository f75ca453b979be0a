#!/usr/bin/python3
"""The GPU check's helper (bench/gpu_check.sh calls it; see bench/README.md,
"The GPU check").

    gpu_check.py manifest --build DIR [--select REGEX]
        prints the tests the check runs, from CTest's own description of
        them (ctest --show-only=json-v1), one per line, tab-separated:
        name, serial (1: runs alone, CTest's RUN_SERIAL), cost, environment
        (space-separated NAME=VALUE), command and arguments (space-separated),
        with the source and build directories written @SRC@ and @BUILD@ and
        the kernel cache @CACHE@, so that the list still holds on a machine
        where the tree lies elsewhere.
    gpu_check.py membw --out FILE [--sizes BYTES,...] [--device cuda|cpu]
        read bandwidth that PyTorch reaches on the baseline's device, one
        kernel per figure: a buffer of each size read over and over (for
        sizes that fit the L2 or last-level cache, that cache's bandwidth),
        and a matrix-vector product per call on a (4H, H) matrix of that size
        (what a step launched per time step reads R at).
    gpu_check.py report --work DIR --out FILE [--chart FILE]
        the check's summary (FILE, JSON) from what the run left in DIR, the
        bandwidth at N = 1 per hidden size and algorithm, and its chart;
        prints the summary; exits 1 when something the check needs is
        missing or failed.

Only the standard library, except membw (torch) and --chart (matplotlib).
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

# CTest names of the tests the check runs: the device against the reference
# with the automatic and each forced algorithm (the full matrix, not the
# fast tier's covering cases), sessions, the API, the errors, the goldens.
DEFAULT_SELECT = r"^(test_api|test_errors|test_golden|test_session)$|^test_device(_[a-z-]+)?_d0$"

# The hidden sizes of the bandwidth runs: R (4H x H, FP32) is 4, 16 and
# 64 MiB, on either side of a large GPU's L2.
BANDWIDTH_H = (512, 1024, 2048)


def log(msg):
    print("gpu_check.py: " + msg, file=sys.stderr)


def r_bytes(H, precision="fp32"):
    """Bytes of R read per step when it streams from memory: 4H x H
    weights in the precision's stored type (int8 with a float scale per
    row)."""
    if precision in ("fp16", "bf16"):
        return 8 * H * H
    if precision == "int8":
        return 4 * H * H + 16 * H
    return 16 * H * H


# ----------------------------------------------------------------------------
# manifest


def manifest(a):
    build = os.path.realpath(a.build)
    proc = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build, check=True,
                          stdout=subprocess.PIPE, universal_newlines=True)
    doc = json.loads(proc.stdout)
    src = None
    for line in open(os.path.join(build, "CMakeCache.txt"), encoding="utf-8"):
        if line.startswith("CMAKE_HOME_DIRECTORY:"):
            src = os.path.realpath(line.split("=", 1)[1].strip())
    if not src:
        raise SystemExit("gpu_check.py: no CMAKE_HOME_DIRECTORY in %s/CMakeCache.txt" % build)

    def portable(v):
        # longest first: the build directory usually lies inside the source
        for path, tag in sorted(((build, "@BUILD@"), (src, "@SRC@")), key=lambda p: -len(p[0])):
            if v == path or v.startswith(path + "/") or ("=" + path) in v:
                v = v.replace(path, tag)
        return v

    sel = re.compile(a.select)
    rows = []
    for t in doc["tests"]:
        if not sel.search(t["name"]):
            continue
        props = {p["name"]: p["value"] for p in t.get("properties", [])}
        env = []
        for e in props.get("ENVIRONMENT", []):
            name = e.split("=", 1)[0]
            env.append("LSTMCL_CACHE_DIR=@CACHE@" if name == "LSTMCL_CACHE_DIR" else portable(e))
        cmd = [portable(c) for c in t["command"]]
        for item in env + cmd:
            if re.search(r"\s", item):
                raise SystemExit("gpu_check.py: %s: white space in %r" % (t["name"], item))
        rows.append((t["name"], 1 if props.get("RUN_SERIAL") else 0,
                     float(props.get("COST", 0)), env, cmd))
    if not rows:
        raise SystemExit("gpu_check.py: no CTest test matches %s" % a.select)
    # the longest first, as CTest orders them, so that parallel jobs end together
    rows.sort(key=lambda r: (r[1], -r[2], r[0]))
    for name, serial, cost, env, cmd in rows:
        print("\t".join([name, str(serial), "%g" % cost, " ".join(env), " ".join(cmd)]))
    return 0


# ----------------------------------------------------------------------------
# membw


def cache_sizes_cpu():
    """{level: bytes} of CPU 0's data and unified caches (Linux sysfs)."""
    out = {}
    base = "/sys/devices/system/cpu/cpu0/cache"
    for d in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        try:
            with open(os.path.join(base, d, "level")) as f:
                level = int(f.read())
            with open(os.path.join(base, d, "type")) as f:
                kind = f.read().strip()
            with open(os.path.join(base, d, "size")) as f:
                size = f.read().strip()
        except OSError:
            continue
        if kind == "Instruction":
            continue
        mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(size[-1:], 1)
        out[level] = int(size.rstrip("KMG")) * mult
    return out


def membw(a):
    import torch
    dev = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    info = {"device": dev, "torch": torch.__version__}
    if dev == "cuda":
        props = torch.cuda.get_device_properties(0)
        info["name"] = props.name
        info["l2_bytes"] = getattr(props, "L2_cache_size", None)
        info["multiprocessors"] = props.multi_processor_count
        total = 4 << 30  # bytes read per figure: about a millisecond

        def timed(fn, reps):
            fn()
            torch.cuda.synchronize()
            best = math.inf
            for _ in range(5):
                start = torch.cuda.Event(enable_timing=True)
                stop = torch.cuda.Event(enable_timing=True)
                start.record()
                for _ in range(reps):
                    fn()
                stop.record()
                stop.synchronize()
                best = min(best, start.elapsed_time(stop) * 1e-3 / reps)
            return best
    else:
        import platform
        info["name"] = platform.machine()
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as f:
                info["name"] = next(line.split(":", 1)[1].strip() for line in f
                                    if line.startswith("model name"))
        except (OSError, StopIteration):
            pass
        levels = cache_sizes_cpu()
        info["l2_bytes"] = levels.get(2)
        info["llc_bytes"] = levels[max(levels)] if levels else None
        info["threads"] = torch.get_num_threads()
        total = 256 << 20

        def timed(fn, reps):
            fn()
            best = math.inf
            for _ in range(3):
                t0 = time.perf_counter()
                for _ in range(reps):
                    fn()
                best = min(best, (time.perf_counter() - t0) / reps)
            return best

    # R's size at each H of the bandwidth runs, and a buffer far beyond the cache
    cache = max(info.get("l2_bytes") or 0, info.get("llc_bytes") or 0)
    sizes = [int(s) for s in a.sizes.split(",") if s] if a.sizes else \
        [r_bytes(h) for h in BANDWIDTH_H] + [max(total // 4, 8 * cache)]
    rows = []
    for size in sizes:
        n = size // 4
        row = {"bytes": size}
        try:
            x = torch.rand(n, device=dev)
            # one kernel reads the buffer k times: a stride-0 view, reduced row by row
            k = max(1, total // size)
            view = x.view(1, n).expand(k, n)
            t = timed(lambda: view.sum(dim=1), 1)
            row["read_gbs"] = k * size / t / 1e9
            # a (4H, H) matrix of this size times a vector, one call per step
            H = int(round(math.sqrt(n / 4)))
            if 4 * H * H == n:
                m = x.view(4 * H, H)
                v = torch.rand(H, device=dev)
                t1 = timed(lambda: torch.mv(m, v), 1)
                reps = max(1, min(1000, int(0.05 / max(t1, 1e-7))))
                t = timed(lambda: torch.mv(m, v), reps)
                row["H"] = H
                row["mv_us"] = t * 1e6
                row["mv_gbs"] = size / t / 1e9
        except Exception as e:  # noqa: BLE001 - recorded, the others still run
            row["error"] = "%s: %s" % (type(e).__name__, e)
        rows.append(row)
        log("membw %s %d MiB: %s" % (dev, size >> 20, ", ".join(
            "%s %.1f" % (k, v) for k, v in row.items() if k.endswith(("gbs", "us")))))
    info["sizes"] = rows
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1)
    return 0


# ----------------------------------------------------------------------------
# report


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_tsv(path, fields):
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= len(fields):
                    rows.append(dict(zip(fields, parts)))
    except OSError:
        pass
    return rows


def num(x):
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def geomean(v):
    v = [x for x in v if x and x > 0]
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v else None


def suite_summary(doc, want_baselines):
    """Per suite: rows that failed, and per baseline the ratios to lstmcl's
    rows (baseline time / lstmcl time, per algorithm)."""
    devices = {d["label"]: d for d in doc["devices"]}
    rows = doc["results"]
    out = {"configs": len({r["config"] for r in rows}),
           "lstmcl_rows": sum(1 for r in rows if not r["baseline"]),
           "failed_rows": ["%s %s %s: %s %s" % (r["config"], r["device"], r.get("algorithm", ""),
                                                r["check"], r["error"])
                           for r in rows if not r["baseline"]
                           and (r["status"] != "ok" or r["check"] != "pass")],
           "baselines": doc.get("baselines", []),
           "notes": doc.get("notes", []),
           "devices": [{k: d.get(k) for k in ("label", "name", "platform", "driver_version",
                                              "compute_units", "peak_gflops", "peak_gbs")}
                       for d in doc["devices"]],
           "ratios": {}, "problems": []}
    for b in want_baselines:
        brows = [r for r in rows if r["baseline"] and r["device"] == b]
        ok = [r for r in brows if r["status"] == "ok"]
        if not ok:
            why = sorted({r["error"] for r in brows}) or ["no row (see the notes)"]
            out["problems"].append("baseline %s did not run: %s" % (b, "; ".join(why)[:300]))
        bad = [r["config"] for r in ok if r["check"] == "FAILED"]
        if bad:
            out["problems"].append("baseline %s failed its check on %s" % (b, ", ".join(bad)))
    by = {}
    for r in rows:
        if r["baseline"] or r["status"] != "ok":
            continue
        label = "%s %s" % (devices.get(r["device"], {}).get("name", r["device"]),
                           r.get("algorithm") or "")
        for b, v in (r.get("ratios") or {}).items():
            if num(v):
                by.setdefault(b, {}).setdefault(label.strip(), []).append(v)
    for b, per in by.items():
        out["ratios"][b] = {k: {"geomean": geomean(v), "min": min(v), "max": max(v), "n": len(v)}
                            for k, v in per.items()}
    if out["failed_rows"]:
        out["problems"].append("%d lstmcl rows failed" % len(out["failed_rows"]))
    return out


def ms_of(stats):
    return num((stats or {}).get("median"))


def bandwidth_rows(work, suites, mem):
    """The bandwidth of R at N = 1: 16 H^2 bytes per step over the time per
    step, for the dedicated runs (I = 1, device time where the queue
    profiles) and the DeepBench rows (their recurrent-only time, T = 25)."""
    peaks = {}
    for doc in suites.values():
        for d in doc["devices"]:
            if d.get("peak_gbs"):
                peaks[d["name"]] = d["peak_gbs"]
    ceil = {s["bytes"]: s for s in (mem or {}).get("sizes", [])}
    cache = (mem or {}).get("l2_bytes") if (mem or {}).get("device") == "cuda" else \
        (mem or {}).get("llc_bytes")
    big = max(ceil) if ceil else None
    out = []

    def add(source, H, T, who, algo, ms, timer, devname, precision="fp32"):
        if not ms:
            return
        step_s = ms * 1e-3 / T
        nbytes = r_bytes(H, precision)
        gbs = nbytes / step_s / 1e9
        c = ceil.get(r_bytes(H), {})
        # torch-cuda runs on the GPU whose OpenCL device is measured, when there is one
        peak = peaks.get(devname) or (next(iter(peaks.values()))
                                      if who == "torch-cuda" and len(peaks) == 1 else None)
        row = {"source": source, "H": H, "T": T, "device": devname, "who": who,
               "algorithm": algo, "precision": precision, "timer": timer,
               "us_per_step": step_s * 1e6, "r_bytes_per_step": nbytes, "gbs": gbs,
               "fits_cache": (nbytes <= cache) if cache else None,
               "frac_dram_peak": gbs / peak if peak else None,
               "frac_read_at_size": gbs / c["read_gbs"] if c.get("read_gbs") else None,
               "frac_dram_read": gbs / ceil[big]["read_gbs"]
               if big and ceil[big].get("read_gbs") else None}
        out.append(row)

    for H in BANDWIDTH_H:
        doc = load_json(os.path.join(work, "bw-H%d.json" % H))
        if not doc:
            continue
        names = {d["label"]: d["name"] for d in doc["devices"]}
        for r in doc["results"]:
            if r["baseline"] or r["status"] != "ok" or r["N"] != 1:
                continue
            dev = ms_of(r.get("device_ms"))
            add("bw-H%d" % H, H, r["T"], "lstmcl", r.get("algorithm"), dev or ms_of(r["wall_ms"]),
                "device" if dev else "wall", names.get(r["device"], r["device"]),
                r.get("precision", "fp32"))
    doc = suites.get("deepbench")
    if doc:
        names = {d["label"]: d["name"] for d in doc["devices"]}
        for r in doc["results"]:
            if r["N"] != 1 or r["H"] not in BANDWIDTH_H or r["status"] != "ok":
                continue
            if r["baseline"]:
                # cuDNN's time includes its input projection (one GEMM for all steps)
                add("deepbench", r["H"], r["T"], r["device"], "", ms_of(r["wall_ms"]), "wall",
                    r["device"])
            else:
                add("deepbench", r["H"], r["T"], "lstmcl", r.get("algorithm"),
                    ms_of(r.get("recurrent_only_ms")), "wall, recurrent only",
                    names.get(r["device"], r["device"]), r.get("precision", "fp32"))
    return out


def chart(path, bw, mem):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    series = {}
    for r in bw:
        name = "%s %s %s (%s, T=%d)" % (r["who"], r["algorithm"] or "", r.get("precision", ""),
                                         r["timer"], r["T"])
        series.setdefault(name.replace("  ", " "), {})[r["H"]] = r["gbs"]
    ceilings = {}
    for s in (mem or {}).get("sizes", []):
        if s.get("read_gbs"):
            ceilings.setdefault("%s read, buffer of R's size" % mem["device"], {})[
                s.get("H") or s["bytes"]] = s["read_gbs"]
        if s.get("mv_gbs") and s.get("H"):
            ceilings.setdefault("%s torch.mv per call" % mem["device"], {})[s["H"]] = s["mv_gbs"]
    if not series:
        return None
    hs = list(BANDWIDTH_H)
    names = list(series) + list(ceilings)
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(10, 5.5))
    for k, name in enumerate(names):
        vals = (series.get(name) or ceilings.get(name))
        xs = [i + (k - (len(names) - 1) / 2) * width for i in range(len(hs))]
        ys = [vals.get(h, 0.0) for h in hs]
        ax.bar(xs, ys, width, label=name, hatch="//" if name in ceilings else None,
               alpha=0.6 if name in ceilings else 1.0)
    big = max((s for s in (mem or {}).get("sizes", []) if s.get("read_gbs")),
              key=lambda s: s["bytes"], default=None)
    if big:
        ax.axhline(big["read_gbs"], color="k", ls="--", lw=1,
                   label="%s read, %d MiB (DRAM)" % (mem["device"], big["bytes"] >> 20))
    ax.set_yscale("log")
    ax.set_xticks(range(len(hs)))
    ax.set_xticklabels(["H=%d N=1\nR %d MiB" % (h, r_bytes(h) >> 20) for h in hs])
    ax.set_ylabel("GB/s of R (16 H^2 bytes per step / time per step)")
    ax.set_title("Bandwidth reached at N = 1, %s" % (mem or {}).get("name", ""))
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def report(a):
    work = a.work
    problems = []
    phases = read_tsv(os.path.join(work, "phases.tsv"), ("phase", "status", "seconds", "detail"))
    tests = read_tsv(os.path.join(work, "tests.tsv"),
                     ("name", "status", "rc", "seconds", "skipped", "log"))
    for p in phases:
        if p["status"] not in ("pass", "running"):
            problems.append("phase %s: %s %s" % (p["phase"], p["status"], p["detail"]))
    for t in tests:
        if t["status"] != "pass":
            problems.append("test %s: %s (exit %s)" % (t["name"], t["status"], t["rc"]))
    want = [b for b in (a.baselines or "").split(",") if b]
    suites, summaries = {}, {}
    for s in ("deepbench", "throughput"):
        doc = load_json(os.path.join(work, s + ".json"))
        if doc:
            suites[s] = doc
            summaries[s] = suite_summary(doc, want)
            problems += ["%s: %s" % (s, p) for p in summaries[s]["problems"]]
    mem = load_json(os.path.join(work, "membw.json"))
    bw = bandwidth_rows(work, suites, mem)
    env = []
    try:
        with open(os.path.join(work, "environment.txt"), encoding="utf-8") as f:
            env = [line.rstrip("\n") for line in f if line.strip()]
    except OSError:
        pass
    doc = {"tool": "lstmcl gpu_check", "format_version": 1,
           "status": "FAILED" if problems else "passed",
           "problems": problems, "environment": env,
           "phases": [{"phase": p["phase"], "status": p["status"], "seconds": num(p["seconds"]),
                       "detail": p["detail"]} for p in phases],
           "tests": [{"name": t["name"], "status": t["status"], "exit": int(t["rc"]),
                      "seconds": num(t["seconds"]), "skipped_cases": int(t["skipped"]),
                      "log": t["log"]} for t in tests],
           "suites": summaries,
           "bandwidth_n1": {"note": "GB/s of R: 16*H*H bytes per step / time per step; "
                                    "frac_dram_peak against the OpenCL read probe of "
                                    "lstmcl-bench (256 MiB), frac_read_at_size against "
                                    "torch reading a buffer of R's size over and over "
                                    "(its cache's bandwidth when it fits), frac_dram_read "
                                    "against torch reading a buffer far beyond the cache",
                            "ceilings": mem, "rows": bw}}
    if a.chart and bw:
        try:
            doc["bandwidth_n1"]["chart"] = os.path.basename(chart(a.chart, bw, mem))
        except Exception as e:  # noqa: BLE001
            problems.append("bandwidth chart: %s: %s" % (type(e).__name__, e))
            doc["status"] = "FAILED"
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)

    # the same, for a person reading the log
    print("== tests")
    for t in tests:
        print("  %-28s %-8s %7s s%s" % (t["name"], t["status"], t["seconds"],
                                       "  (%s cases skipped)" % t["skipped"]
                                       if t["skipped"] not in ("0", "") else ""))
    for s, sm in summaries.items():
        print("== %s: %d configurations, %d lstmcl rows, %d failed; baselines: %s"
              % (s, sm["configs"], sm["lstmcl_rows"], len(sm["failed_rows"]),
                 "; ".join(sm["baselines"]) or "none"))
        for b, per in sm["ratios"].items():
            for who, v in per.items():
                print("  %s / lstmcl (%s): geomean %.2f, %.2f-%.2f over %d configurations"
                      % (b, who, v["geomean"], v["min"], v["max"], v["n"]))
    if bw:
        print("== bandwidth of R at N = 1 (R's bytes per step in the row's precision: "
              "16 H^2 fp32, 8 H^2 fp16/bf16, 4 H^2 int8 / time per step)")
        if mem:
            cache = mem.get("l2_bytes") if mem.get("device") == "cuda" else mem.get("llc_bytes")
            print("  %s (%s): %s %.0f MiB; torch reads: %s" % (
                mem.get("name"), mem.get("device"),
                "L2" if mem.get("device") == "cuda" else "last-level cache", (cache or 0) / 2**20,
                ", ".join("%d MiB %.0f GB/s" % (s["bytes"] >> 20, s.get("read_gbs") or 0)
                          for s in mem.get("sizes", []))))
        for r in bw:
            print("  H=%-5d T=%-4d %-14s %-16s %-4s %8.2f us/step %9.1f GB/s  fits cache: %-5s"
                  "  of DRAM peak: %s  of read at size: %s  (%s)"
                  % (r["H"], r["T"], r["who"], r["algorithm"] or "-", r.get("precision", "fp32"),
                     r["us_per_step"], r["gbs"],
                     r["fits_cache"], "%.0f%%" % (100 * r["frac_dram_peak"])
                     if r["frac_dram_peak"] else "-",
                     "%.0f%%" % (100 * r["frac_read_at_size"]) if r["frac_read_at_size"] else "-",
                     r["timer"]))
    if problems:
        print("== problems")
        for p in problems:
            print("  " + p)
    return 1 if problems else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("manifest")
    m.add_argument("--build", required=True)
    m.add_argument("--select", default=DEFAULT_SELECT)
    b = sub.add_parser("membw")
    b.add_argument("--sizes", help="comma list of bytes (default: R at H = %s and a "
                   "buffer far beyond the cache)" % ", ".join(map(str, BANDWIDTH_H)))
    b.add_argument("--device", choices=["cuda", "cpu"])
    b.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("--work", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--chart")
    r.add_argument("--baselines", help="comma list of the baselines the suites must hold")
    a = p.parse_args()
    return {"manifest": manifest, "membw": membw, "report": report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
