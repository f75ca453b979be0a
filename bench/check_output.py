#!/usr/bin/python3
"""Checks a lstmcl-bench JSON and CSV pair (the bench_output test).

Parses both with Python's own readers (so a locale that wrote ',' as the
decimal separator, or a malformed file, fails here), recomputes the FLOP and
byte counts from the shapes with the formulas of bench/README.md, checks the
derived figures and ratios against the timings, and requires every lstmcl row
and every float baseline row that ran to have passed its check against the
CPU reference. Each row's deviation from the fp32 reference (dev_fp32) must
be the largest of its y, hn and cn parts; a reduced-precision lstmcl row's
must be within the accuracy contract of include/lstmcl.h (dev_fp32_bound),
an fp32 row's within its tolerance, and an int8 baseline's finite.

    check_output.py RESULT.json RESULT.csv [--precisions LIST]

--precisions (a comma list, e.g. fp32,fp16,bf16,int8): every lstmcl
configuration, device and algorithm must have one row per precision, in
that order and side by side; a reduced-precision row may be "unsupported"
(gemm), an fp32 row may not.
"""
import csv
import json
import math
import re
import sys


def flops(r):
    H, I, N, T, L, P = r["H"], r["I"], r["N"], r["T"], r["L"], r["P"]
    D = 2 if r["bidirectional"] else 1
    Ho = P if P else H
    total = 0.0
    for layer in range(L):
        iin = I if layer == 0 else D * Ho
        total += D * (8.0 * H * (iin + Ho) * N * T + 2.0 * P * H * N * T)
    return total


def nbytes(r):
    H, I, N, T, L, P = r["H"], r["I"], r["N"], r["T"], r["L"], r["P"]
    D = 2 if r["bidirectional"] else 1
    Ho = P if P else H
    # bytes per weight in the row's precision; int8 adds a float scale per row
    wb = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "int8": 1.0}[r.get("precision", "fp32")]
    sb = 4.0 if r.get("precision") == "int8" else 0.0
    total = 0.0
    for layer in range(L):
        iin = I if layer == 0 else D * Ho
        total += D * (T * (wb * (4 * H * Ho + P * H) + sb * (4 * H + P)) +
                      4.0 * H * (wb * iin + sb) + 4.0 * T * N * (iin + Ho))
    return total


def close(a, b, rel=1e-6):
    return abs(a - b) <= rel * max(abs(a), abs(b))


def check_precisions(results, order, expect):
    """Rows side by side: per lstmcl configuration, device and algorithm
    (the automatic choice as one, whatever it ran), the precisions in
    `order`, consecutive."""
    i = 0
    lstmcl = [r for r in results if not r["baseline"]]
    while i < len(lstmcl):
        group = lstmcl[i:i + len(order)]
        key = (lstmcl[i]["config"], lstmcl[i]["device"], lstmcl[i]["algorithm"].split("=")[0])
        got = [r.get("precision") for r in group]
        same = all((r["config"], r["device"], r["algorithm"].split("=")[0]) == key for r in group)
        expect(got == order and same, "%s: precisions %s, expected %s side by side" % (key, got, order))
        for r in group:
            if r.get("status") == "unsupported":
                expect(r.get("precision") != "fp32", "%s: fp32 row unsupported" % (key,))
        i += len(order)


def finite(x):
    return x is not None and math.isfinite(x)


def main(argv):
    order = None
    if len(argv) == 5 and argv[3] == "--precisions":
        order = argv[4].split(",")
        argv = argv[:3]
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    with open(argv[2], newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    problems = []

    def expect(cond, what):
        if not cond:
            problems.append(what)

    expect(doc.get("tool") == "lstmcl-bench", "tool name")
    expect(re.fullmatch(r"\d+\.\d+\.\d+", doc.get("lstmcl_version", "")), "lstmcl_version")
    expect(doc.get("git_commit"), "git_commit")
    expect(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc.get("date", "")), "date")
    devices = {d["label"]: d for d in doc["devices"]}
    expect(devices, "no devices")
    for d in doc["devices"]:
        expect(d["name"], "device %s has no name" % d["label"])
        if not d["reference"]:
            expect(d["driver_version"] and d["device_version"], "device %s versions" % d["label"])
    results = doc["results"]
    expect(results, "no results")
    expect(len(rows) == len(results), "CSV has %d rows, JSON %d" % (len(rows), len(results)))

    expect(doc.get("format_version") == 2, "format_version")
    if order:
        check_precisions(results, order, expect)
    for r, row in zip(results, rows):
        prec = r.get("precision")
        tag = "%s on %s %s %s" % (r["config"], r["device"], r["algorithm"], prec)
        expect(row["config"] == r["config"] and row["device"] == r["device"], tag + ": CSV order")
        expect(row["precision"] == prec and prec in ("fp32", "fp16", "bf16", "int8"),
               tag + ": precision")
        if r["status"] == "error":
            # a baseline may be unable to run a configuration; lstmcl may not
            expect(r["baseline"] and r["error"], tag + ": error row " + r["error"])
            continue
        if r["status"] == "unsupported":
            # a precision the library does not run with this algorithm
            expect(not r["baseline"] and prec != "fp32" and r["check"] == "UNSUPPORTED" and
                   r["error"], tag + ": unsupported row " + r["error"])
            continue
        expect(r["status"] == "ok", tag + ": status " + r["status"])
        # the deviation from the fp32 model's reference output
        parts = [r["dev_fp32_y"], r["dev_fp32_hn"], r["dev_fp32_cn"]]
        known = [d for d in parts if d is not None]
        if r["dev_fp32"] is not None:
            expect(known and close(r["dev_fp32"], max(known)), tag + ": dev_fp32 not the largest part")
            expect(close(float(row["dev_fp32"]), r["dev_fp32"]), tag + ": CSV dev_fp32")
        if r["baseline"] and prec != "fp32":
            # a quantized baseline: not held to float's tolerance
            expect(r["check"] == "-", tag + ": check " + r["check"])
            expect(finite(r["dev_fp32"]), tag + ": dev_fp32 %s" % r["dev_fp32"])
        else:
            expect(r["check"] == "pass", tag + ": check " + r["check"])
            expect(r["max_rel_err"] is not None and r["max_rel_err"] <= r["tolerance"],
                   tag + ": max_rel_err over tolerance")
        if not r["baseline"]:
            expect(finite(r["dev_fp32"]), tag + ": no dev_fp32")
            if prec == "fp32":
                expect(r["dev_fp32_bound"] is None and r["dev_fp32"] <= r["tolerance"],
                       tag + ": fp32 dev_fp32 %s over tolerance" % r["dev_fp32"])
            else:
                expect(finite(r["dev_fp32_bound"]) and r["dev_fp32"] <= r["dev_fp32_bound"],
                       tag + ": dev_fp32 %s beyond the %s contract %s"
                       % (r["dev_fp32"], prec, r["dev_fp32_bound"]))
        if not r["baseline"]:
            expect(r["device"] in devices, tag + ": unknown device")
        w = r["wall_ms"]
        expect(w["reps"] >= 1 and w["min"] <= w["median"] <= w["max"], tag + ": wall stats")
        expect(close(r["flop"], flops(r)), tag + ": flop %g != %g" % (r["flop"], flops(r)))
        expect(close(r["bytes"], nbytes(r)), tag + ": bytes")
        expect(close(r["gflops"], r["flop"] / (w["median"] * 1e6)), tag + ": gflops")
        expect(close(r["gbs"], r["bytes"] / (w["median"] * 1e6)), tag + ": gbs")
        expect(close(r["us_per_step"], w["median"] * 1e3 / r["T"]), tag + ": us_per_step")
        # the CSV carries the same numbers, written with '.' decimals
        expect(close(float(row["ms_median"]), w["median"]), tag + ": CSV ms_median")
        expect(close(float(row["gflops"]), r["gflops"]), tag + ": CSV gflops")
        for name, ratio in r["ratios"].items():
            base = [b for b in results if b["config"] == r["config"] and b["device"] == name]
            expect(len(base) == 1, tag + ": ratio to unknown baseline " + name)
            if base and base[0]["status"] != "error" and ratio is not None:
                expect(close(ratio, base[0]["wall_ms"]["median"] / w["median"]),
                       tag + ": ratio to " + name)
        peak = devices.get(r["device"], {}).get("peak_gflops")
        if peak and not r["baseline"]:
            expect(close(r["frac_peak_flops"], r["gflops"] / peak), tag + ": frac_peak_flops")
            expect(math.isfinite(peak) and peak > 0, tag + ": peak")

    for p in problems:
        print("check_output: " + p, file=sys.stderr)
    print("check_output: %d results, %d problems" % (len(results), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
