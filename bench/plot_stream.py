#!/usr/bin/env python3
"""Chart of lstmcl-bench --suite stream results: the largest number of live
streams each mode serves in real time, one group of bars per JSON file
(hidden size), with each mode's p50/p99 chunk latency written on its bar.

  plot_stream.py OUT.png stream-h1024.json [stream-h256.json ...]
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MODES = ["session", "per-stream", "ort-stream", "ort-batch"]
LABELS = {"session": "lstmcl session", "per-stream": "lstmcl, one stream per call",
          "ort-stream": "onnxruntime, one stream per call",
          "ort-batch": "onnxruntime, batched per period"}


def main():
    out, files = sys.argv[1], sys.argv[2:]
    runs = [json.load(open(f)) for f in files]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(MODES)
    for g, run in enumerate(runs):
        modes = {m["mode"]: m for m in run["modes"]}
        for k, name in enumerate(MODES):
            m = modes.get(name)
            if not m:
                continue
            x = g + (k - (len(MODES) - 1) / 2) * width
            bar = ax.bar(x, m["streams"], width, color="C%d" % k,
                         label=LABELS[name] if g == 0 else None)
            ax.text(x, bar[0].get_height(), "%d\n%.0f/%.0f ms" % (m["streams"], m["p50_ms"],
                                                                   m["p99_ms"]),
                    ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(runs)))
    ax.set_xticklabels(["H = I = %d\n%s" % (r["hidden"], r["device"][:40]) for r in runs])
    ax.set_ylabel("largest real-time streams (log scale)")
    ax.set_yscale("log")
    r0 = runs[0]
    ax.set_title("Live streams: chunks of %d steps every %.0f ms, one layer (p50/p99 latency)"
                 % (r0["chunk"], r0["period_ms"]))
    ax.legend(fontsize=8, loc="upper left")
    ax.set_ylim(0.8, max(m["streams"] for r in runs for m in r["modes"]) * 8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
