#!/usr/bin/env python3
"""Turns the JSON written by bench/run (JMH -rf json, plus the memory harness) into BENCHMARKS.md.

Usage: report.py RESULTS_DIR OUTPUT_MD [NOTES_MD]

RESULTS_DIR holds increment-t<threads>-<case>.json, drain*.json, sustained.json,
sinks-buffered.json and sinks-direct.json (JMH JSON), sink-stats.jsonl (SinkBenchmark's per-run
statements, distinct keys and fill times),
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


SINK_STORES = [
    ("jdbc", "h2", "H2 (in memory)"),
    ("jdbc", "postgresql", "PostgreSQL"),
    ("jdbc", "mariadb", "MariaDB"),
    ("redis", "standalone", "Redis standalone"),
    ("redis", "cluster", "Redis Cluster, 3 nodes"),
]
JDBC_KEYS_TARGET = 100_000        # issue 4: keys/s into PostgreSQL
REDIS_KEYS_TARGET = 200_000       # issue 5: keys/s into standalone Redis
SPEEDUP_TARGET = 50               # issues 4 and 5
STATEMENT_SHARE_TARGET = 0.01     # issue 4: buffered statements <= 1 % of the baseline's


def sink_stats(path):
    """{(kind, store): {"Buffered"|"Direct": [records]}} from sink-stats.jsonl, measured only."""
    stats = {}
    if not os.path.exists(path):
        return stats
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            record = json.loads(line)
            if record.get("warmup", False) or "store" not in record:
                continue
            name = record["benchmark"]
            kind = "jdbc" if name.startswith("jdbc") else "redis"
            store = record["store"]
            if store.startswith("redis-"):
                store = store[len("redis-"):]
            way = "Buffered" if name.endswith("Buffered") else "Direct"
            stats.setdefault((kind, store), {}).setdefault(way, []).append(record)
    return stats


def median_field(records, field):
    values = [r[field] for r in records or [] if field in r]
    return statistics.median(values) if values else None


def sink_table(out, entries, stats_path, verdicts):
    out.append("\n### Sinks: distinct keys per second, against one write per increment\n")
    if not entries:
        out.append("Not measured (no sinks-buffered.json / sinks-direct.json).\n")
        return
    stats = sink_stats(stats_path)
    runs = {}
    params_seen = {}
    for entry in entries:
        name = method(entry)
        params = entry.get("params", {})
        kind = "jdbc" if name.startswith("jdbc") else "redis"
        store = params.get("database") if kind == "jdbc" else params.get("redis")
        way = "Buffered" if name.endswith("Buffered") else "Direct"
        ms, count = median_of(entry["primaryMetric"])
        runs.setdefault((kind, store), {})[way] = (ms, count, params)
        params_seen = params
    increments = int(params_seen.get("increments", "1000000"))
    keys = int(params_seen.get("keys", "10000"))
    batch = params_seen.get("maxBatchSize", "?")
    out.append(
        f"Workload: {increments:,} increments over {keys:,} uniform keys, one thread. **Buffered**: "
        f"before each run, untimed, the increments go into a StatBuffer (interval 1 h, "
        f"`maxBatchSize` {batch}) in front of the sink; the run times `flushAll().join()`, i.e. "
        "the sink writing every distinct key (`JdbcSink`: one transaction per batch, ledger "
        "included; `RedisSink`: one pipelined round trip per node per batch, markers included). "
        "keys/s = distinct keys in the store after the run / flush time. **Baseline**: what code "
        "without a buffer does, one auto-commit single-row upsert (`JdbcSink.singleRowUpsertSql()`) "
        "or one synchronous `INCRBY` per increment, on one connection. The baseline runs fewer "
        "increments (column *baseline increments*) and its time is **extrapolated** linearly to "
        f"{increments:,} increments from its rate. *Buffered run* = fill (the {increments:,} "
        "`increment` calls, timed on the side) + flush; speedup = extrapolated baseline time / "
        "buffered run time. Statements: SQL statements (JDBC, `COMMIT` included) or round trips "
        f"(Redis) per buffered run, and as a share of the baseline's {increments:,} (one per "
        "increment). Medians of the measured runs; PostgreSQL and MariaDB are the local servers "
        "over loopback (durable commits), H2 is embedded in memory (no network, which flatters "
        "its baseline), the Redis servers are started by the benchmark on loopback.\n")
    out.append("| store | flush ms | keys/s | statements per flush | fill ms | buffered run ms "
               "| baseline increments | baseline increments/s | baseline ms for "
               f"{increments:,} (extrapolated) | speedup | statements vs baseline |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    sinks = {}
    for kind, store, label in SINK_STORES:
        row = runs.get((kind, store))
        if not row:
            out.append(f"| {label} | not measured |" + " |" * 10)
            continue
        recs = stats.get((kind, store), {})
        buffered = row.get("Buffered")
        direct = row.get("Direct")
        flush_ms = buffered[0] if buffered else None
        written = median_field(recs.get("Buffered"), "keys") or keys
        keys_per_s = written / (flush_ms / 1000.0) if flush_ms else None
        statements = median_field(recs.get("Buffered"), "statements")
        fill_ms = median_field(recs.get("Buffered"), "fillMs")
        run_ms = flush_ms + fill_ms if flush_ms is not None and fill_ms is not None else None
        direct_count = int(direct[2].get("directIncrements")) if direct else None
        direct_rate = direct_count / (direct[0] / 1000.0) if direct and direct[0] > 0 else None
        direct_ms = increments / direct_rate * 1000.0 if direct_rate else None
        speedup = direct_ms / run_ms if direct_ms and run_ms else None
        share = statements / increments if statements is not None else None
        sinks[(kind, store)] = {"keys_per_s": keys_per_s, "speedup": speedup, "share": share,
                                "statements": statements}

        def cell(value, form):
            return form.format(value) if value is not None else "n/a"
        out.append(
            f"| {label} | {cell(flush_ms, '{:,.1f}')} | {cell(keys_per_s, '{:,.0f}')} | "
            f"{cell(statements, '{:,.0f}')} | {cell(fill_ms, '{:,.1f}')} | "
            f"{cell(run_ms, '{:,.1f}')} | {cell(direct_count, '{:,}')} | "
            f"{cell(direct_rate, '{:,.0f}')} | {cell(direct_ms, '{:,.0f}')} | "
            f"{cell(speedup, '{:,.0f}x')} | {cell(share * 100 if share is not None else None, '{:.4f} %')} |")
    verdicts["sinks"] = sinks


def sink_targets(out, verdicts):
    sinks = verdicts.get("sinks")
    out.append("\n## Targets of issues 4 and 5 (sinks)\n")
    if sinks is None:
        out.append("Not measured.\n")
        return
    out.append("| target | measured | verdict |")
    out.append("|---|---|---|")

    def row(target, key, field, form, ok):
        value = sinks.get(key, {}).get(field)
        if value is None:
            out.append(f"| {target} | not measured | - |")
        else:
            out.append(f"| {target} | {form.format(value)} | {'met' if ok(value) else 'MISSED'} |")
    pg, maria = ("jdbc", "postgresql"), ("jdbc", "mariadb")
    standalone, cluster = ("redis", "standalone"), ("redis", "cluster")
    row("JdbcSink into PostgreSQL >= 100 000 keys/s", pg, "keys_per_s", "{:,.0f} keys/s",
        lambda v: v >= JDBC_KEYS_TARGET)
    for key, label in ((pg, "PostgreSQL"), (maria, "MariaDB")):
        row(f"{label}: buffered statements <= 1 % of the baseline's", key, "share",
            "{:.4%}", lambda v: v <= STATEMENT_SHARE_TARGET)
        row(f"{label}: buffered run >= 50x faster than the baseline", key, "speedup",
            "{:,.0f}x", lambda v: v >= SPEEDUP_TARGET)
    row("RedisSink into standalone Redis >= 200 000 keys/s", standalone, "keys_per_s",
        "{:,.0f} keys/s", lambda v: v >= REDIS_KEYS_TARGET)
    for key, label in ((standalone, "Redis standalone"), (cluster, "Redis Cluster")):
        row(f"{label}: buffered run >= 50x faster than the baseline", key, "speedup",
            "{:,.0f}x", lambda v: v >= SPEEDUP_TARGET)
    out.append("\nThe baselines' times are extrapolated from shorter runs (see the sink table).\n")


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
    sinks = (load(os.path.join(results, "sinks-buffered.json")) or []) + \
        (load(os.path.join(results, "sinks-direct.json")) or [])
    sink_table(out, sinks, os.path.join(results, "sink-stats.jsonl"), verdicts)
    targets(out, verdicts)
    sink_targets(out, verdicts)
    notes = sys.argv[3] if len(sys.argv) > 3 else ""
    if notes and os.path.exists(notes):
        out.append("\n" + open(notes, encoding="utf-8").read().strip())
    with open(output, "w", encoding="utf-8") as handle:
        handle.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
