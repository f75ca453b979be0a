#!/usr/bin/python3
"""Charts from a lstmcl-bench JSON file (matplotlib; Debian python3-matplotlib).

    plot.py RESULT.json [--out PREFIX]

writes
    PREFIX-gflops.png            GFLOP/s per configuration: lstmcl on each
                                 device beside the baselines of the same run
    PREFIX-roofline-DEV.png      per OpenCL device with measured peaks: its
                                 results against the roofline of its own
                                 measured FP32 rate and read bandwidth
PREFIX defaults to RESULT without ".json". Rows that did not run, or failed
their check, are left out of the charts (they stay in the JSON).
"""
import argparse
import json
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend


def series_name(r, devices, by_algo=False):
    if r["baseline"]:
        return r["device"]
    d = devices.get(r["device"], {})
    if d.get("reference"):
        return "lstmcl, CPU reference path"
    name = "lstmcl, %s" % d.get("name", "device " + r["device"])
    # one series per algorithm when a run forced several (--algo)
    if by_algo and r.get("algorithm"):
        # the automatic choice is one series whatever it ran
        algo = r["algorithm"]
        name += " (%s)" % ("auto" if algo.startswith("auto=") else algo)
    return name


def usable(r):
    return r["status"] == "ok" and r["gflops"] is not None


def short_config(cfg):
    # "H512 I512 N4 T25 L1" -> "H512 N4 T25" when I = H and L = 1
    parts = cfg.split()
    h = parts[0][1:]
    keep = [p for p in parts if not (p == "I" + h or p == "L1")]
    return " ".join(keep)


def plot_gflops(doc, out):
    devices = {d["label"]: d for d in doc["devices"]}
    configs, series = [], {}
    # several rows for one configuration and device: algorithms forced in turn
    seen = [(r["config"], r["device"]) for r in doc["results"] if not r["baseline"]]
    by_algo = len(seen) != len(set(seen))
    for r in doc["results"]:
        if r["config"] not in configs:
            configs.append(r["config"])
        if usable(r):
            series.setdefault(series_name(r, devices, by_algo), {})[r["config"]] = r["gflops"]
    if not series:
        return None
    names = list(series)
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(min(16, max(7, 0.16 * len(configs) * len(names) + 3)), 5.5))
    for k, name in enumerate(names):
        xs = [i + (k - (len(names) - 1) / 2) * width for i in range(len(configs))]
        ys = [series[name].get(c, 0.0) for c in configs]
        ax.bar(xs, ys, width, label=name)
    ax.set_yscale("log")
    ax.set_xticks(range(len(configs)))
    ax.set_xticklabels([short_config(c) for c in configs], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("GFLOP/s (higher is better)")
    ax.set_title("lstmcl %s (%s), suite %s, %s" % (doc["lstmcl_version"], doc["git_commit"],
                                                   doc["suite"], doc["date"][:10]))
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_roofline(doc, dev, out):
    peak_f, peak_b = dev.get("peak_gflops"), dev.get("peak_gbs")
    if not peak_f or not peak_b:
        return None
    rows = [r for r in doc["results"]
            if not r["baseline"] and r["device"] == dev["label"] and usable(r)]
    if not rows:
        return None
    ai = [r["flop"] / r["bytes"] for r in rows]
    lo = min(min(ai) / 4, peak_f / peak_b / 8)
    hi = max(max(ai) * 4, peak_f / peak_b * 8)
    xs = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.plot(xs, [min(peak_f, x * peak_b) for x in xs], "k-",
            label="measured roof: %.1f GFLOP/s, %.1f GB/s" % (peak_f, peak_b))
    ax.scatter(ai, [r["gflops"] for r in rows], zorder=3, label="lstmcl forward")
    for x, r in zip(ai, rows):
        ax.annotate(short_config(r["config"]), (x, r["gflops"]), fontsize=6,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP per byte of the bench's traffic model)")
    ax.set_ylabel("GFLOP/s")
    ax.set_title("Roofline, %s" % dev["name"], fontsize=10)
    ax.grid(which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main():
    p = argparse.ArgumentParser(description="Charts from a lstmcl-bench JSON file.")
    p.add_argument("json")
    p.add_argument("--out", help="file name prefix (default: the JSON path without .json)")
    a = p.parse_args()
    with open(a.json, encoding="utf-8") as f:
        doc = json.load(f)
    prefix = a.out or re.sub(r"\.json$", "", a.json)
    written = [plot_gflops(doc, prefix + "-gflops.png")]
    for dev in doc["devices"]:
        if not dev["reference"]:
            tag = re.sub(r"[^A-Za-z0-9]+", "-", dev["label"] + "-" + dev["name"]).strip("-")
            written.append(plot_roofline(doc, dev, "%s-roofline-%s.png" % (prefix, tag.lower())))
    for w in written:
        if w:
            print(os.path.normpath(w))
    return 0


if __name__ == "__main__":
    sys.exit(main())
