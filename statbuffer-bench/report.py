#!/usr/bin/env python3
"""Turns the JSON written by bench/run (JMH -rf json, plus the memory harness) into BENCHMARKS.md.

Usage: report.py RESULTS_DIR OUTPUT_MD [NOTES_MD]

RESULTS_DIR holds increment-t<threads>-<case>.json, drain*.json, sustained.json, sinks.json (JMH
JSON), sink-stats.jsonl (SinkBenchmark),
memory.json (MemoryFootprint), and machine.txt / command.txt (free text). Missing files are
reported as missing rather than failing the whole report. NOTES_MD (the hand-written analysis
of the figures) is appended as it is.
"""
import json
import os
import statistics
import sys

PEERS = ["chmLongAdder", "chmMerge", "atomicLongMap", "syncHashMap"]
ALL = ["statBuffer"] + PEERS
LABELS = {
    "statBuffer": "StatBuffer",
    "chmLongAdder": "CHM<K,LongAdder>",
    "chmMerge": "CHM<K,Long>.merge",
    "atomicLongMap": "Guava AtomicLongMap",
    "syncHashMap": "synchronized HashMap",
}
KEYS_ORDER = ["1", "1000", "1000000"]
DIST_ORDER = ["uniform", "zipf"]
# The share of a best peer below which a case counts as a loss (issue 3).
FLOOR = 0.8
DRAIN_TARGET = 5_000_000


def load(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        text = handle.read().strip()
    return json.loads(text) if text else None


def flatten(raw):
    return [value for fork in raw for value in fork]


def median_of(metric):
    """Median over every fork and iteration; falls back to JMH's score."""
    raw = metric.get("rawData")
    values = flatten(raw) if raw else []
    return statistics.median(values) if values else metric["score"], len(values)


def method(entry):
    return entry["benchmark"].rsplit(".", 1)[1]


def fmt(value, digits=1):
    return f"{value:,.{digits}f}"


def increment_tables(out, runs, verdicts):
    """runs: {threads: [jmh entries]}"""
    losses = []
    headline = None
    for threads in sorted(runs):
        entries = runs[threads]
        table = {}
        alloc = {}
        for entry in entries:
            params = entry.get("params", {})
            case = (params.get("keys"), params.get("distribution"))
            score, count = median_of(entry["primaryMetric"])
            table.setdefault(case, {})[method(entry)] = (score, count)
            norm = entry.get("secondaryMetrics", {}).get("gc.alloc.rate.norm")
            if norm is not None:
                alloc.setdefault(case, {})[method(entry)] = median_of(norm)[0]
        cases = sorted(table, key=lambda c: (KEYS_ORDER.index(c[0]) if c[0] in KEYS_ORDER else 99,
                                             DIST_ORDER.index(c[1]) if c[1] in DIST_ORDER else 99))
        out.append(f"\n### Increment throughput, {threads} thread{'s' if threads != 1 else ''}\n")
        out.append("Million increments per second (median of every measured iteration), and in "
                   "brackets the ratio to the best peer in the same row (peers are the four "
                   "non-StatBuffer columns, so the best peer shows 1.00). **Bold**: StatBuffer "
                   f"below {FLOOR}x of the best peer.\n")
        out.append("| keys | distribution | " + " | ".join(LABELS[m] for m in ALL) + " |")
        out.append("|---:|---|" + "---:|" * len(ALL))
        for case in cases:
            row = table[case]
            peer_scores = [row[m][0] for m in PEERS if m in row]
            best = max(peer_scores) if peer_scores else None
            cells = []
            for m in ALL:
                if m not in row:
                    cells.append("n/a")
                    continue
                score = row[m][0]
                ratio = score / best if best else float("nan")
                cell = f"{fmt(score)} ({ratio:.2f})"
                if m == "statBuffer":
                    if ratio < FLOOR:
                        cell = f"**{cell}**"
                        losses.append((threads, case, ratio))
                    if threads == 2 and case == ("1000", "uniform"):
                        headline = ratio
                cells.append(cell)
            out.append(f"| {case[0]} | {case[1]} | " + " | ".join(cells) + " |")
        if alloc:
            out.append(f"\nAllocation per increment on existing keys, {threads} thread"
                       f"{'s' if threads != 1 else ''} (`-prof gc`, `gc.alloc.rate.norm`, bytes per "
                       "operation, median of iterations):\n")
            out.append("| keys | distribution | " + " | ".join(LABELS[m] for m in ALL) + " |")
            out.append("|---:|---|" + "---:|" * len(ALL))
            for case in cases:
                row = alloc.get(case, {})
                out.append(f"| {case[0]} | {case[1]} | " + " | ".join(
                    (f"{row[m]:.3f}" if m in row else "n/a") for m in ALL) + " |")
            worst = max((alloc[c]["statBuffer"] for c in alloc if "statBuffer" in alloc[c]),
                        default=None)
            verdicts.setdefault("alloc", []).append((threads, worst))
    verdicts["losses"] = losses
    verdicts["headline"] = headline


def drain_table(out, entries, verdicts):
    out.append("\n### Drain rate\n")
    if not entries:
        out.append("Not measured (no drain.json).\n")
        return
    out.append("`flushAll().join()` over a buffer holding `pendingKeys` open windows, handlers "
               "doing nothing, on the buffer's own executor; single shot per invocation, median "
               "over invocations.\n")
    out.append("| handler | pending keys | ms per flushAll (median) | keys/s | invocations |")
    out.append("|---|---:|---:|---:|---:|")
    for entry in entries:
        params = entry.get("params", {})
        pending = int(params.get("pendingKeys", "0"))
        ms, count = median_of(entry["primaryMetric"])
        rate = pending / (ms / 1000.0) if ms > 0 else float("nan")
        out.append(f"| {params.get('handler')} | {pending:,} | {fmt(ms)} | {rate:,.0f} | {count} |")
        if params.get("handler") == "batch":
            verdicts["drain"] = rate


def sustained_table(out, entries):
    out.append("\n### Increments while flushing\n")
    if not entries:
        out.append("Not measured (no sustained.json).\n")
        return
    out.append("StatBuffer, 2 threads, uniform keys. `flushing`: interval 100 ms and a batch "
               "handler that parks 1 ms per 1 000 keys; `idle`: the same buffer with an interval of "
               "one hour (nothing is flushed). Million increments per second (median), and the "
               "ratio flushing / idle.\n")
    table = {}
    for entry in entries:
        params = entry.get("params", {})
        table.setdefault(params.get("keys"), {})[params.get("mode")] = \
            median_of(entry["primaryMetric"])[0]
    out.append("| keys | flushing | idle | flushing / idle |")
    out.append("|---:|---:|---:|---:|")
    for keys in sorted(table, key=int):
        row = table[keys]
        flushing = row.get("flushing")
        idle = row.get("idle")
        ratio = flushing / idle if flushing and idle else float("nan")
        out.append(f"| {keys} | {fmt(flushing) if flushing else 'n/a'} | "
                   f"{fmt(idle) if idle else 'n/a'} | {ratio:.2f} |")


def memory_table(out, memory, verdicts):
    out.append("\n### Retained memory per key\n")
    if not memory:
        out.append("Not measured (no memory.json).\n")
        return
    out.append(f"Heap retained per key with {memory['keys']:,} keys, key objects excluded (built "
               "before the baseline reading), each key holding a count of 1 000; used heap after "
               f"`System.gc()` (serial collector), median of {memory['repeats']} interleaved "
               "repeats. Ratio to `ConcurrentHashMap<K, LongAdder>`.\n")
    per_key = memory["bytesPerKey"]
    base = per_key.get("chmLongAdder", {}).get("median")
    out.append("| implementation | bytes/key (median) | samples | ratio to CHM<K,LongAdder> |")
    out.append("|---|---:|---|---:|")
    for m in ALL:
        if m not in per_key:
            continue
        median = per_key[m]["median"]
        samples = ", ".join(f"{v:.1f}" for v in per_key[m]["samples"])
        ratio = median / base if base else float("nan")
        out.append(f"| {LABELS[m]} | {median:.1f} | {samples} | {ratio:.2f} |")
    verdicts["memory"] = (per_key.get("statBuffer", {}).get("median"), base)


def sink_table(out, entries, stats_path):
    out.append("\n### Sinks: buffered against one write per increment\n")
    if not entries:
        out.append("Not measured (no sinks.json).\n")
        return
    statements = {}
    if os.path.exists(stats_path):
        with open(stats_path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    record = json.loads(line)
                    statements.setdefault(record["benchmark"], []).append(record["statements"])
    out.append("Increments over 10 000 uniform keys written to a local store, one thread. "
               "`Buffered`: every increment through StatBuffer (interval 1 s) and the sink, then "
               "`flushAll().join()`; `direct`: one auto-commit single-row upsert (H2, in-memory "
               "and embedded, so no network round trip) or one synchronous `INCRBY` (redis-server "
               "on loopback) per increment. Rate = increments / wall time of the whole run "
               "(median of runs). Statements: SQL statements (JDBC) or round trips (Redis) per run.\n")
    out.append("| store | way | increments per run | ms per run | increments/s | statements per run | speedup |")
    out.append("|---|---|---:|---:|---:|---:|---:|")
    rates = {}
    rows = []
    for entry in entries:
        name = method(entry)
        params = entry.get("params", {})
        count = int(params.get("directIncrements" if name.endswith("Direct") else "increments"))
        ms, _ = median_of(entry["primaryMetric"])
        rate = count / (ms / 1000.0) if ms > 0 else float("nan")
        rates[name] = rate
        stmts = statements.get(name)
        rows.append((name, count, ms, rate,
                     f"{statistics.median(stmts):,.0f}" if stmts else "n/a"))
    for name, count, ms, rate, stmts in sorted(rows):
        store = "JDBC (H2)" if name.startswith("jdbc") else "Redis"
        way = "buffered" if name.endswith("Buffered") else "direct"
        direct = rates.get(name.replace("Buffered", "Direct"))
        speedup = f"{rate / direct:,.0f}x" if way == "buffered" and direct else ""
        out.append(f"| {store} | {way} | {count:,} | {fmt(ms)} | {rate:,.0f} | {stmts} | {speedup} |")


def targets(out, verdicts):
    out.append("\n## Targets of issue 3\n")
    out.append("| target | measured | verdict |")
    out.append("|---|---|---|")
    headline = verdicts.get("headline")
    if headline is None:
        out.append("| increment, 2 threads, 1 000 keys uniform >= 1.0x best peer | not measured | - |")
    else:
        out.append(f"| increment, 2 threads, 1 000 keys uniform >= 1.0x best peer | {headline:.2f}x | "
                   f"{'met' if headline >= 1.0 else 'MISSED'} |")
    losses = verdicts.get("losses", [])
    if "headline" in verdicts:
        text = ", ".join(f"t={t} keys={c[0]} {c[1]}: {r:.2f}x" for t, c, r in losses) or "none"
        out.append(f"| no increment case below {FLOOR}x of the best peer | cases below: {text} | "
                   f"{'met' if not losses else 'MISSED'} |")
    allocs = verdicts.get("alloc", [])
    if allocs:
        worst = max((w for _, w in allocs if w is not None), default=None)
        if worst is not None:
            # JMH's own bookkeeping shows up as a few thousandths of a byte per operation.
            out.append(f"| 0 B/op on existing keys | worst StatBuffer case {worst:.3f} B/op | "
                       f"{'met' if worst < 0.5 else 'MISSED'} |")
    memory = verdicts.get("memory")
    if memory and memory[0] is not None and memory[1]:
        out.append(f"| retained memory per key <= CHM<K,LongAdder> | {memory[0]:.1f} vs "
                   f"{memory[1]:.1f} bytes/key | {'met' if memory[0] <= memory[1] else 'MISSED'} |")
    drain = verdicts.get("drain")
    if drain is not None:
        out.append(f"| drain >= 5 000 000 keys/s to a no-op batch handler | {drain:,.0f} keys/s | "
                   f"{'met' if drain >= DRAIN_TARGET else 'MISSED'} |")


def main():
    results, output = sys.argv[1], sys.argv[2]
    out = []
    verdicts = {}

    def text(name):
        path = os.path.join(results, name)
        return open(path, encoding="utf-8").read().strip() if os.path.exists(path) else "(missing)"

    out.append("# StatBuffer benchmarks\n")
    out.append("Written by `bench/run` from JMH's JSON output; do not edit by hand. Every peer is "
               "measured in the same run, on the same machine, with the same keys and threads.\n")
    out.append("## Machine\n")
    out.append("```\n" + text("machine.txt") + "\n```\n")
    out.append("## Command\n")
    out.append("```\n" + text("command.txt") + "\n```\n")
    out.append("## Results\n")
    runs = {}
    for name in sorted(os.listdir(results)):
        if name.startswith("increment-t") and name.endswith(".json"):
            threads = int(name[len("increment-t"):].split("-")[0].split(".")[0])
            runs.setdefault(threads, []).extend(load(os.path.join(results, name)) or [])
    if runs:
        increment_tables(out, runs, verdicts)
    else:
        out.append("Increment benchmarks: not measured.\n")
    memory_table(out, load(os.path.join(results, "memory.json")), verdicts)
    drain = (load(os.path.join(results, "drain.json")) or []) + \
        (load(os.path.join(results, "drain-perkey.json")) or [])
    drain_table(out, drain, verdicts)
    sustained_table(out, load(os.path.join(results, "sustained.json")))
    sink_table(out, load(os.path.join(results, "sinks.json")),
               os.path.join(results, "sink-stats.jsonl"))
    targets(out, verdicts)
    notes = sys.argv[3] if len(sys.argv) > 3 else ""
    if notes and os.path.exists(notes):
        out.append("\n" + open(notes, encoding="utf-8").read().strip())
    with open(output, "w", encoding="utf-8") as handle:
        handle.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
