#!/usr/bin/env python3
"""A/B of lstmcl-bench runs: the same command before and after a change.

    python3 bench/ab.py --before B1.json B2.json B3.json --after A1.json A2.json A3.json

Per configuration, device and algorithm (auto rows pooled as "auto",
whatever they chose), each side's time is the median of its runs' medians
(wall ms); the table gives both, after/before - 1, and each side's range
over its runs. Runs of the two sides should alternate (B1 A1 B2 A2 ...) on
the same machine, so that a change of load hits both. Exit status 1 when
after is slower than before by more than --limit (default 0.10) anywhere.
"""
import argparse
import json
import statistics
import sys
from collections import OrderedDict


def times(paths):
    out = OrderedDict()
    for path in paths:
        with open(path) as f:
            d = json.load(f)
        for r in d["results"]:
            if r.get("status") != "ok" or r.get("baseline"):
                continue
            algo = r["algorithm"].split("=")[0]
            if r.get("precision", "fp32") != "fp32":  # --precision: each its own row
                algo += " " + r["precision"]
            key = (r["config"], r["device"], algo)
            out.setdefault(key, []).append(r["wall_ms"]["median"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", nargs="+", required=True)
    ap.add_argument("--after", nargs="+", required=True)
    ap.add_argument("--limit", type=float, default=0.10)
    a = ap.parse_args()
    before, after = times(a.before), times(a.after)
    print("| config | dev | algorithm | before ms (range) | after ms (range) | after/before-1 |")
    print("|---|---|---|---|---|---|")
    worst = None
    for key, b in before.items():
        if key not in after:
            continue
        x = after[key]
        mb, mx = statistics.median(b), statistics.median(x)
        d = mx / mb - 1
        if worst is None or d > worst[0]:
            worst = (d, key)
        print("| %s | %s | %s | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f) | %+.1f%% |"
              % (key[0], key[1], key[2], mb, min(b), max(b), mx, min(x), max(x), 100 * d))
    if worst is None:
        print("no configuration in both sets", file=sys.stderr)
        return 1
    print("\nlargest slowdown: %+.1f%% (%s, device %s, %s)" % (100 * worst[0], *worst[1]))
    return 1 if worst[0] > a.limit else 0


if __name__ == "__main__":
    sys.exit(main())
