#!/usr/bin/python3
"""Checks a lstmcl-bench JSON and CSV pair (the bench_output test).

Parses both with Python's own readers (so a locale that wrote ',' as the
decimal separator, or a malformed file, fails here), recomputes the FLOP and
byte counts from the shapes with the formulas of bench/README.md, checks the
derived figures and ratios against the timings, and requires every lstmcl row
and every baseline row that ran to have passed its check against the CPU
reference.

    check_output.py RESULT.json RESULT.csv
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
    total = 0.0
    for layer in range(L):
        iin = I if layer == 0 else D * Ho
        total += D * (4.0 * T * (4 * H * Ho + P * H) + 16.0 * H * iin + 4.0 * T * N * (iin + Ho))
    return total


def close(a, b, rel=1e-6):
    return abs(a - b) <= rel * max(abs(a), abs(b))


def main(argv):
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

    for r, row in zip(results, rows):
        tag = "%s on %s" % (r["config"], r["device"])
        expect(row["config"] == r["config"] and row["device"] == r["device"], tag + ": CSV order")
        if r["status"] == "error":
            # a baseline may be unable to run a configuration; lstmcl may not
            expect(r["baseline"] and r["error"], tag + ": error row " + r["error"])
            continue
        expect(r["status"] == "ok", tag + ": status " + r["status"])
        expect(r["check"] == "pass", tag + ": check " + r["check"])
        expect(r["max_rel_err"] is not None and r["max_rel_err"] <= r["tolerance"],
               tag + ": max_rel_err over tolerance")
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
