#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Turn bench/results/RUN/raw.tsv into the markdown table (medians over rounds,
ratio to DIRECT), followed by warnings and the per-round raw numbers.

usage: report.py RESULTS_DIR MUX...
"""
import os
import statistics
import sys
from collections import defaultdict

res_dir = sys.argv[1]
muxes = sys.argv[2:]
data = defaultdict(dict)  # (workload, metric) -> mux -> {round: value}
texts = defaultdict(dict)  # (workload, metric) -> mux -> {round: text} (non-numeric)
with open(os.path.join(res_dir, "raw.tsv")) as f:
    next(f)
    for line in f:
        w, metric, mux, rnd, val = line.rstrip("\n").split("\t")
        try:
            data[(w, metric)].setdefault(mux, {})[int(rnd)] = float(val)
        except ValueError:
            texts[(w, metric)].setdefault(mux, {})[int(rnd)] = val
env = open(os.path.join(res_dir, "env.txt")).read().strip()


def med(w, metric, mux):
    vals = list(data.get((w, metric), {}).get(mux, {}).values())
    return statistics.median(vals) if vals else None


def fmt(v, unit):
    if v is None:
        return "—"
    if unit in ("GB/s", "s/GB"):
        return "%.2f" % v if v >= 0.1 else "%.3f" % v
    if unit in ("req/s", "conn/s"):
        return "%.0f" % v
    if unit in ("ms",):
        return "%.2f" % v if v < 10 else "%.1f" % v
    if unit in ("µs",):
        return "%.0f" % v
    if unit in ("KiB",):
        return "%.1f" % v
    if unit == "added µs":
        return "%+.0f" % v
    if unit == "x":
        return "%.2f" % v
    return "%g" % v


rows = []  # (label, [cells])
warnings = []
present = lambda w, metric: (w, metric) in data


def ratio_row(w, metric, label, unit, ratio=True):
    """absolute median, with (ratio to DIRECT) for the muxes"""
    if not present(w, metric):
        return
    d = med(w, metric, "direct")
    cells = []
    for m in muxes:
        v = med(w, metric, m)
        c = fmt(v, unit)
        if ratio and m != "direct" and v is not None and d:
            c += " (%.2f×)" % (v / d)
        cells.append(c)
    rows.append(("%s (%s)" % (label, unit), cells))


def mux_only_row(w, metric, label, unit):
    if not present(w, metric):
        return
    rows.append(("%s (%s)" % (label, unit),
                 ["n/a" if m == "direct" else fmt(med(w, metric, m), unit) for m in muxes]))


def added_row(w, metric, label):
    if not present(w, metric):
        return
    d = med(w, metric, "direct")
    cells = []
    for m in muxes:
        v = med(w, metric, m)
        if m == "direct":
            cells.append("0")
        elif v is None or d is None:
            cells.append("—")
        else:
            cells.append("%+.0f" % (v - d))
    rows.append((label, cells))


def held_row(w, held_metric, opened_metric, n, label):
    if not present(w, held_metric):
        return
    cells = []
    for m in muxes:
        rs = data[(w, held_metric)].get(m, {})
        if not rs:
            cells.append("—")
            continue
        worst = min(rs.values())
        cells.append("%d/%d" % (worst, n) + (" ✓" if worst == n else " ✗"))
        for r, v in sorted(rs.items()):
            if v < n:
                op = data.get((w, opened_metric), {}).get(m, {}).get(r)
                why = ""
                for (tw, tm), per in texts.items():
                    if tw == w and tm.startswith("why_not_opened") and tm.endswith(opened_metric.split("_")[-1]):
                        why = per.get(m, {}).get(r, "")
                warnings.append("%s: %s round %d: only %d of %d idle connections held (%s opened%s)"
                                % (label, m, r, v, n, "%d" % op if op is not None else "?",
                                   "; " + why.replace("=", " ").replace("_", " ") if why else ""))
    rows.append((label + " (worst round)", cells))


def per_round_ratio_row(w, num, den, label, w_den=None):
    """median over rounds of num/den of the same mux (same round)"""
    w_den = w_den or w
    if not present(w, num) or not present(w_den, den):
        return
    cells = []
    for m in muxes:
        a = data[(w, num)].get(m, {})
        b = data[(w_den, den)].get(m, {})
        rs = [a[r] / b[r] for r in a if r in b and b[r]]
        cells.append("%.2f" % statistics.median(rs) if rs else "—")
    rows.append((label, cells))


# (a) bulk
for d, dl in (("up", "client→server"), ("down", "server→client")):
    for p in (1, 8):
        ratio_row("a", "gbps_%s_%d" % (d, p), "a. bulk %d stream%s %s" % (p, "s" if p > 1 else "", dl), "GB/s")
for d, dl in (("up", "c→s"), ("down", "s→c")):
    for p in (1, 8):
        mux_only_row("a", "cpu_s_per_gb_%s_%d" % (d, p), "a. mux CPU per GB, %d stream%s %s" % (p, "s" if p > 1 else "", dl), "s/GB")
# (b) wrk
for mode, ml in (("close", "Connection: close"), ("keepalive", "keep-alive")):
    ratio_row("b", "rps_" + mode, "b. HTTP %s" % ml, "req/s")
    ratio_row("b", "p50_ms_" + mode, "b. HTTP %s p50" % ml, "ms")
    ratio_row("b", "p99_ms_" + mode, "b. HTTP %s p99" % ml, "ms")
    mux_only_row("b", "cpu_us_per_req_" + mode, "b. mux CPU per request, %s" % ml, "µs")
# (c) sequential latency
ratio_row("c", "p50_us", "c. connect→request→first byte p50", "µs")
ratio_row("c", "p99_us", "c. connect→request→first byte p99", "µs")
added_row("c", "p50_us", "c. added latency p50 vs DIRECT (µs)")
added_row("c", "p99_us", "c. added latency p99 vs DIRECT (µs)")
mux_only_row("c", "cpu_us_per_conn", "c. mux CPU per connection", "µs")
# (d) idle
idle_ns = sorted({int(m.split("_")[1]) for (w, m) in data if w == "d" and m.startswith("held_")})
for n in idle_ns:
    held_row("d", "held_%d" % n, "opened_%d" % n, n, "d. %d idle: held" % n)
    mux_only_row("d", "pss_kib_per_conn_%d" % n, "d. %d idle: mux PSS per connection" % n, "KiB")
    mux_only_row("d", "rss_kib_per_conn_%d" % n, "d. %d idle: mux RSS per connection" % n, "KiB")
# (e) bulk + idle
e_n = None
for line in env.splitlines():
    for tok in line.split():
        if tok.startswith("e_idle="):
            e_n = int(tok.split("=")[1])
ratio_row("e", "gbps_idle", "e. bulk 1 stream c→s with %s idle open" % e_n, "GB/s")
per_round_ratio_row("e", "gbps_idle", "gbps_noidle", "e. with %s idle ÷ without (same mux, same round)" % e_n)
if e_n:
    held_row("e", "idle_held", "idle_opened", e_n, "e. %d idle: held after the bulk run" % e_n)
# (f) detection
ratio_row("f", "rps_base", "f. new connections/s, plain config", "conn/s")
ratio_row("f", "rps_detect", "f. new connections/s, 32 non-matching regexes first", "conn/s")
per_round_ratio_row("f", "rps_detect", "rps_base", "f. with the 32 regexes ÷ without (same mux, same round)")

# (g) hostile
drip = ""
for tok in env.split():
    if tok.startswith("drip="):
        drip = tok.split("=", 1)[1]
mux_only_row("g", "cpu_ms_per_drip_conn", "g. hostile: mux CPU per client dripping a request (%s)" % drip, "ms")
mux_only_row("g", "secs", "g. hostile: time for the dripping clients to get their answer", "s")

# The goals of issue 13, each against the best peer (sslh and HAProxy) of
# the same run.
PEERS = [m for m in muxes if m in ("sslh-fork", "sslh-select", "haproxy")]
OURS = [m for m in muxes if m.startswith("portsplit")]
# benchtool's minimal relay: what the least a user-space switch does costs
# on this machine, so the goals can be read against it.
YARD = [m for m in muxes if m == "floor"]
goal_rows = []


def goal(label, lower_better, target, value_of, unit):
    vals = {m: value_of(m) for m in PEERS + OURS + YARD}
    peers = [(vals[m], m) for m in PEERS if vals[m] is not None]
    best = (min if lower_better else max)(peers) if peers else None
    cells = [fmt(vals[m], unit) for m in PEERS + OURS + YARD]
    for m in OURS + YARD:
        v = vals[m]
        if v is None or best is None or not best[0]:
            cells.append("—")
        elif unit == "added µs":
            cells.append("%+.0f µs vs %s" % (v - best[0], best[1]))
        else:
            cells.append("%.2f× %s" % (v / best[0], best[1]))
    goal_rows.append((label, target, cells))


def ratio_to_direct(w, metric):
    def f(m):
        v, d = med(w, metric, m), med(w, metric, "direct")
        return v / d if v is not None and d else None
    return f


def added(w, metric):
    def f(m):
        v, d = med(w, metric, m), med(w, metric, "direct")
        return v - d if v is not None and d is not None else None
    return f


if present("b", "cpu_us_per_req_close"):
    goal("mux CPU µs per new connection (b, close)", True, "≤ 0.7× best peer",
         lambda m: med("b", "cpu_us_per_req_close", m), "µs")
if present("c", "cpu_us_per_conn"):
    goal("mux CPU µs per connection (c, sequential)", True, "≤ 0.7× best peer",
         lambda m: med("c", "cpu_us_per_conn", m), "µs")
if present("b", "rps_close"):
    goal("`Connection: close` req/s ÷ DIRECT (b)", False, "above every peer",
         ratio_to_direct("b", "rps_close"), "x")
if present("c", "p50_us"):
    goal("added connect→first byte p50 (c)", True, "≤ best peer",
         added("c", "p50_us"), "added µs")
if present("b", "p99_ms_keepalive"):
    goal("keep-alive p99 ÷ DIRECT (b)", True, "≤ 1.2× DIRECT",
         ratio_to_direct("b", "p99_ms_keepalive"), "x")
if present("g", "cpu_ms_per_drip_conn"):
    goal("hostile: CPU ms per dripping client (g)", True, "small",
         lambda m: med("g", "cpu_ms_per_drip_conn", m), "ms")

# warnings from the raw data
for (w, metric), per in sorted(data.items()):
    if metric.startswith("errors") or metric == "failures":
        for m, rs in per.items():
            for r, v in sorted(rs.items()):
                if v > 0:
                    warnings.append("%s %s: %s round %d: %d errors/failures" % (w, metric, m, r, v))
expected = set()
for (w, metric), per in data.items():
    for m in muxes:
        if m == "portsplit-auto" and w != "b":
            continue  # run in workload b only
        if m == "floor" and w not in ("b", "c"):
            continue
        if m == "direct" and w == "g":
            continue
        if m not in per and not (m == "direct" and ("cpu" in metric or "kib" in metric)):
            warnings.append("%s %s: no measurement for %s (it failed; see log/)" % (w, metric, m))

print("## portsplit benchmark — %s" % os.path.basename(res_dir.rstrip("/")))
print()
print("```")
print(env)
print("```")
print()
print("Medians over rounds; in parentheses the ratio to DIRECT (for latencies and")
print("CPU, lower is better; for GB/s, req/s and conn/s, higher is better).")
print()
if goal_rows:
    print("### Goals (issue 13; hostile: issue 9): portsplit against the best peer")
    print()
    print("| measure | goal | " + " | ".join(PEERS + OURS + YARD) + " | "
          + " | ".join("%s ÷ best peer" % m for m in OURS + YARD) + " |")
    print("|---|---|" + "---:|" * (len(PEERS) + 2 * len(OURS + YARD)))
    for label, target, cells in goal_rows:
        print("| %s | %s | %s |" % (label, target, " | ".join(cells)))
    print()
    if YARD:
        print("floor: benchtool's minimal relay (accept, read, blocking connect, write,")
        print("copy, close both at the first end: no matching, no half-close, no timers),")
        print("the least any user-space switch can cost here; a goal below it cannot be met.")
        print()
    print("### All measurements")
    print()
print("| workload | " + " | ".join("DIRECT" if m == "direct" else m for m in muxes) + " |")
print("|---|" + "---:|" * len(muxes))
for label, cells in rows:
    print("| %s | %s |" % (label, " | ".join(cells)))
print()
if warnings:
    print("### Warnings")
    print()
    for wn in warnings:
        print("- " + wn)
    print()
print("### Raw numbers (one value per round)")
print()
print("| workload | metric | " + " | ".join(muxes) + " |")
print("|---|---|" + "---|" * len(muxes))
for (w, metric), per in sorted(data.items()):
    cells = []
    for m in muxes:
        rs = per.get(m, {})
        cells.append(" ".join("%g" % rs[r] for r in sorted(rs)) or "—")
    print("| %s | %s | %s |" % (w, metric, " | ".join(cells)))
