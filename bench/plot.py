#!/usr/bin/python3
"""Charts from a lstmcl-bench JSON file (matplotlib; Debian python3-matplotlib).

    plot.py RESULT.json [--out PREFIX]

writes
    PREFIX-gflops.png            GFLOP/s per configuration: lstmcl on each
                                 device beside the baselines of the same run;
                                 with --precision, one bar per precision
                                 (fp32, fp16, bf16, int8) side by side, and
                                 the int8 baselines beside them
    PREFIX-accuracy.png          with reduced precisions: each row's deviation
                                 from the fp32 reference (dev_fp32) per
                                 configuration, the lstmcl rows of every
                                 precision and the int8 baselines side by
                                 side, under the contracts' bounds
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


PRECISIONS = ("fp32", "fp16", "bf16", "int8")
# the accuracy contract of include/lstmcl.h against the fp32 model
BOUNDS = {"fp16": 1e-2, "bf16": 3e-2, "int8": 5e-2}


def series_name(r, devices, by_algo=False, by_prec=False):
    if r["baseline"]:
        return r["device"]
    d = devices.get(r["device"], {})
    if d.get("reference"):
        name = "lstmcl, CPU reference path"
    else:
        name = "lstmcl, %s" % d.get("name", "device " + r["device"])
    # one series per algorithm when a run forced several (--algo)
    if by_algo and r.get("algorithm") and not d.get("reference"):
        # the automatic choice is one series whatever it ran
        algo = r["algorithm"]
        name += " (%s)" % ("auto" if algo.startswith("auto=") else algo)
    # and one per precision when it ran several (--precision)
    if by_prec:
        name += " %s" % r.get("precision", "fp32")
    return name


def bar_colors(names, results):
    """A colour family per lstmcl device and algorithm, lighter for lower
    precisions, so that a configuration's precisions read as one group;
    baselines in other colours (and hatched, see bars())."""
    cmap = plt.get_cmap("tab20")
    out, families = {}, {}
    for n in names:
        prec = n.rsplit(" ", 1)[-1] if n.startswith("lstmcl") else None
        if prec in PRECISIONS:
            fam = families.setdefault(n.rsplit(" ", 1)[0], len(families))
            base = cmap((2 * fam) % 20)
            k = PRECISIONS.index(prec)
            # blend toward white with the precision's rank
            out[n] = tuple(c + (1.0 - c) * 0.22 * k for c in base[:3])
        else:
            out[n] = None
    spare = iter(plt.get_cmap("Dark2").colors + plt.get_cmap("Set2").colors)
    for n in names:
        if out[n] is None:
            out[n] = next(spare)
    return out


def bars(ax, names, series, configs, colors):
    """One bar per series and configuration, the series side by side."""
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        xs = [i + (k - (len(names) - 1) / 2) * width for i in range(len(configs))]
        ys = [series[name].get(c, 0.0) for c in configs]
        ax.bar(xs, ys, width, label=name, color=colors[name],
               hatch=None if name.startswith("lstmcl") else "//", edgecolor="white", linewidth=0)


def figure(configs, names):
    # the legend sits right of the axes: room for it and for the title
    return plt.subplots(figsize=(min(18, max(10, 0.16 * len(configs) * len(names) + 6)), 5.5))


def layout(doc):
    """(by_algo, by_prec): whether the lstmcl rows of a configuration and
    device differ by algorithm, and by precision."""
    lstmcl = [r for r in doc["results"] if not r["baseline"]]
    precs = {r.get("precision", "fp32") for r in lstmcl}
    seen = [(r["config"], r["device"], r.get("precision", "fp32")) for r in lstmcl]
    return len(seen) != len(set(seen)), len(precs) > 1


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
    # several rows for one configuration and device: algorithms forced in
    # turn, or precisions
    by_algo, by_prec = layout(doc)
    for r in doc["results"]:
        if r["config"] not in configs:
            configs.append(r["config"])
        if usable(r):
            name = series_name(r, devices, by_algo, by_prec)
            series.setdefault(name, {})[r["config"]] = r["gflops"]
    if not series:
        return None
    names = list(series)
    colors = bar_colors(names, doc["results"])
    fig, ax = figure(configs, names)
    bars(ax, names, series, configs, colors)
    ax.set_yscale("log")
    ax.set_xticks(range(len(configs)))
    ax.set_xticklabels([short_config(c) for c in configs], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("GFLOP/s (higher is better)")
    ax.set_title("lstmcl %s (%s), suite %s, %s" % (doc["lstmcl_version"], doc["git_commit"],
                                                   doc["suite"], doc["date"][:10]), fontsize=10)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_accuracy(doc, out):
    """dev_fp32 of the reduced-precision rows (lstmcl's and the int8
    baselines') per configuration, log scale, with the contracts' bounds."""
    devices = {d["label"]: d for d in doc["devices"]}
    by_algo, _ = layout(doc)
    configs, series = [], {}
    for r in doc["results"]:
        if r["config"] not in configs:
            configs.append(r["config"])
        dev = r.get("dev_fp32")
        if r["status"] != "ok" or dev is None or r.get("precision", "fp32") == "fp32":
            continue
        name = series_name(r, devices, by_algo, True)
        # a deviation of 0 (none at all) drawn at the axis' floor
        series.setdefault(name, {})[r["config"]] = max(dev, 1e-9)
    if not series:
        return None
    names = list(series)
    colors = bar_colors(names, doc["results"])
    fig, ax = figure(configs, names)
    bars(ax, names, series, configs, colors)
    precs = {r.get("precision") for r in doc["results"]}
    for prec, bound in BOUNDS.items():
        if prec in precs:
            ax.axhline(bound, color="k", lw=0.8, ls=":")
            ax.text(0.01, bound, "%s contract %g" % (prec, bound), fontsize=7, va="bottom",
                    transform=ax.get_yaxis_transform())
    ax.set_yscale("log")
    ax.set_xticks(range(len(configs)))
    ax.set_xticklabels([short_config(c) for c in configs], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("max |out - fp32 ref| / max(max |fp32 ref|, 1)\nover y, hn, cn (lower is better)")
    ax.set_title("Deviation from the fp32 reference, lstmcl %s (%s), %s" % (
        doc["lstmcl_version"], doc["git_commit"], doc["date"][:10]), fontsize=10)
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
    # one marker per precision (the byte model counts each precision's own
    # weight bytes)
    for prec, marker in zip(PRECISIONS, "osD^"):
        pts = [(x, r) for x, r in zip(ai, rows) if r.get("precision", "fp32") == prec]
        if pts:
            ax.scatter([x for x, _ in pts], [r["gflops"] for _, r in pts], zorder=3, marker=marker,
                       label="lstmcl forward, %s" % prec)
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
    written = [plot_gflops(doc, prefix + "-gflops.png"), plot_accuracy(doc, prefix + "-accuracy.png")]
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
