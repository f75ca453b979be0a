#!/usr/bin/env python3
"""The automatic choice against the best algorithm, from lstmcl-bench JSON.

    python3 bench/choice.py RESULT.json [RESULT.json ...]

Each file comes from a run with --algo all (or a list holding auto and the
algorithms to compare): per configuration and device, the row "auto=NAME"
is the automatic choice and the other lstmcl rows the forced algorithms.
Prints, per configuration and device, what auto chose, its median, the
fastest forced algorithm's median and auto's distance from it (auto / best
- 1), and the baselines' medians over auto's (> 1: lstmcl's automatic choice
is faster). With several files (reruns of the same command) each
algorithm's time is the median of its medians over the runs, the distance
is taken between those, and the range of the runs' own distances follows.
Exit status 1 when a distance exceeds --limit (default 0.10).
"""
import argparse
import json
import statistics
import sys
from collections import OrderedDict


def load(path):
    with open(path) as f:
        d = json.load(f)
    rows = OrderedDict()
    for r in d["results"]:
        if r.get("status") != "ok":
            continue
        # a precision other than fp32 (--precision) is a device of its own
        prec = r.get("precision", "fp32")
        key = (r["config"], r["device"] + ("" if prec == "fp32" else " " + prec))
        rows.setdefault(key, []).append(r)
    return d, rows


def summarize(rows):
    out = OrderedDict()
    for key, rs in rows.items():
        auto = [r for r in rs if not r["baseline"] and r["algorithm"].startswith("auto=")]
        forced = [r for r in rs if not r["baseline"] and not r["algorithm"].startswith("auto=")]
        if not auto or not forced:
            continue
        a = auto[0]
        best = min(forced, key=lambda r: r["wall_ms"]["median"])
        out[key] = {
            "auto": a["algorithm"][5:],
            "auto_ms": a["wall_ms"]["median"],
            "best": best["algorithm"],
            "best_ms": best["wall_ms"]["median"],
            "distance": a["wall_ms"]["median"] / best["wall_ms"]["median"] - 1.0,
            "ratios": a.get("ratios", {}),
            "forced": {r["algorithm"]: r["wall_ms"]["median"] for r in forced},
        }
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", nargs="+")
    ap.add_argument("--limit", type=float, default=0.10)
    args = ap.parse_args()
    runs = []
    for p in args.json:
        d, rows = load(p)
        runs.append((d, summarize(rows)))
    keys = list(runs[0][1].keys())
    baselines = sorted({b for _, s in runs for v in s.values() for b in v["ratios"]})
    head = ["config", "dev", "auto", "auto ms", "best", "best ms", "auto/best-1"]
    head += [b + "/auto" for b in baselines]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    over = []
    for key in keys:
        per = [s[key] for _, s in runs if key in s]
        v = per[0]
        dists = [p["distance"] for p in per]
        if len(per) > 1:
            # the runs pooled: each algorithm's median over the runs' medians
            auto_ms = statistics.median(p["auto_ms"] for p in per)
            forced = {}
            for p in per:
                for name, ms in p["forced"].items():
                    forced.setdefault(name, []).append(ms)
            pooled = {n: statistics.median(ms) for n, ms in forced.items()}
            best = min(pooled, key=pooled.get)
            v = dict(v, auto_ms=auto_ms, best=best, best_ms=pooled[best],
                     auto=",".join(sorted({p["auto"] for p in per})))
            pooled_dist = auto_ms / pooled[best] - 1.0
            dist = (f"{100 * pooled_dist:+.1f}% (runs {100 * min(dists):+.1f}% .. "
                    f"{100 * max(dists):+.1f}%)")
        else:
            pooled_dist = dists[0]
            dist = f"{100 * dists[0]:+.1f}%"
        cells = [key[0], key[1], v["auto"], f"{v['auto_ms']:.3f}", v["best"],
                 f"{v['best_ms']:.3f}", dist]
        for b in baselines:
            x = v["ratios"].get(b)
            cells.append("-" if x is None or x != x else f"{x:.2f}")
        print("| " + " | ".join(cells) + " |")
        if pooled_dist > args.limit:
            over.append((key, pooled_dist))
    for key, d in over:
        print(f"over the limit: {key[0]} device {key[1]}: {100 * d:+.1f}%",
              file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
