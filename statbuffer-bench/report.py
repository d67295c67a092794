#!/usr/bin/env python3
"""Turns the JSON written by bench/run (JMH -rf json, plus the memory harnesses) into
BENCHMARKS.md and the charts it shows.

Usage: report.py RESULTS_DIR OUTPUT_MD [NOTES_MD] [--images DIR] [--analysis DIR]

RESULTS_DIR holds increment-t<threads>-<case>.json, newkeys.json, counter.json, drain*.json,
sustained.json, sinks-buffered.json, sinks-direct.json, durable.json and recovery.json (JMH
JSON), sink-stats.jsonl (SinkBenchmark's per-run statements, distinct keys and fill times),
memory.json (MemoryFootprint), durable-memory.json (DurableFootprint), and machine.txt /
command.txt (free text). A missing file or case is reported as not measured rather than failing
the whole report.

OUTPUT_MD is written whole: every figure and every sentence in it comes from RESULTS_DIR, from
NOTES_MD (prose about how the figures are made, which must quote no measured figure), or from
the titles of the dated analysis files in --analysis (default: docs/benchmarks beside
OUTPUT_MD), which it links to. The charts peers.svg and sinks.svg go to --images (default:
docs/img beside OUTPUT_MD); they are drawn from the same values the tables print (charts.py),
and a chart whose data is missing entirely is not written. Same input, same bytes.
"""
import json
import os
import statistics
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import charts  # noqa: E402  (beside this file)

PEERS = ["chmLongAdder", "chmMerge", "atomicLongMap", "syncHashMap"]
ALL = ["statBuffer"] + PEERS
# Not a peer: each thread's own unsynchronized HashMap (issue 9), the ceiling. Shown in the
# increment tables, never counted as the best peer.
LIMIT = "limit"
LABELS = {
    "statBuffer": "StatBuffer",
    "chmLongAdder": "CHM<K,LongAdder>",
    "chmMerge": "CHM<K,Long>.merge",
    "atomicLongMap": "Guava AtomicLongMap",
    "syncHashMap": "synchronized HashMap",
    LIMIT: "limit (own HashMap per thread)",
}
KEYS_ORDER = ["1", "1000", "1000000"]
DIST_ORDER = ["uniform", "zipf"]
# The share of a best peer below which a case counts as a loss (issue 3).
FLOOR = 0.8
DRAIN_TARGET = 5_000_000
# Issue 9.
INCREMENT_CHM_TARGET = 1.5        # increment, 2 threads, 1 000 keys: StatBuffer / CHM<K,LongAdder>
INCREMENT_LIMIT_TARGET = 0.6      # the same case: StatBuffer / limit
NEW_KEYS_TARGET = 1.0             # first increments: StatBuffer / CHM<K,LongAdder> insert
HOT_COUNTER_TARGET = 0.9          # Counter handle on one hot key / bare LongAdder, 2 threads
KEYED_COUNTER_TARGET = 2.0        # Counter handles on 1 000 keys / CHM<K,LongAdder>, 2 threads
SUSTAINED_TARGET = 0.9            # increments while flushing / idle
ALLOC_LIMIT = 0.5                 # below this many B/op counts as allocation-free (JMH residue)


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


CANONICAL_THREADS = [1, 2]
CANONICAL_CASES = [(k, d) for k in KEYS_ORDER for d in DIST_ORDER]


def case_order(case):
    return (KEYS_ORDER.index(case[0]) if case[0] in KEYS_ORDER else 99,
            DIST_ORDER.index(case[1]) if case[1] in DIST_ORDER else 99, case)


def increment_tables(out, runs, verdicts):
    """runs: {threads: [jmh entries]}; every canonical case gets a row, measured or not."""
    losses = []
    headline = None
    scores = {}
    for threads in sorted(set(runs) | set(CANONICAL_THREADS)):
        entries = runs.get(threads, [])
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
        scores[threads] = {case: {m: row[m][0] for m in row} for case, row in table.items()}
        cases = sorted(set(table) | set(CANONICAL_CASES), key=case_order)
        out.append(f"\n### Increment throughput, {threads} thread{'s' if threads != 1 else ''}\n")
        out.append("Million increments per second (median of every measured iteration), and in "
                   "brackets the ratio to the best peer in the same row (peers are the four "
                   "columns between StatBuffer and the limit, so the best peer shows 1.00). "
                   f"**Bold**: StatBuffer below {FLOOR}x of the best peer. *limit* is not a peer: "
                   "each thread increments its own unsynchronized `HashMap<K, long[]>` holding "
                   "every key, sharing nothing (the ceiling for counting on existing keys); the "
                   "last column is StatBuffer / limit.\n")
        columns = ALL + [LIMIT]
        out.append("| keys | distribution | " + " | ".join(LABELS[m] for m in columns)
                   + " | StatBuffer / limit |")
        out.append("|---:|---|" + "---:|" * (len(columns) + 1))
        for case in cases:
            row = table.get(case)
            if not row:
                out.append(f"| {case[0]} | {case[1]} | not measured |" + " |" * len(columns))
                continue
            peer_scores = [row[m][0] for m in PEERS if m in row]
            best = max(peer_scores) if peer_scores else None
            cells = []
            for m in columns:
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
            to_limit = None
            if "statBuffer" in row and LIMIT in row and row[LIMIT][0] > 0:
                to_limit = row["statBuffer"][0] / row[LIMIT][0]
            cells.append(f"{to_limit:.2f}" if to_limit is not None else "n/a")
            if threads == 2 and case == ("1000", "uniform"):
                chm = row.get("chmLongAdder", (None,))[0]
                verdicts["issue9_increment"] = (
                    row["statBuffer"][0] / chm if chm and "statBuffer" in row else None, to_limit)
            out.append(f"| {case[0]} | {case[1]} | " + " | ".join(cells) + " |")
        if alloc:
            out.append(f"\nAllocation per increment on existing keys, {threads} thread"
                       f"{'s' if threads != 1 else ''} (`-prof gc`, `gc.alloc.rate.norm`, bytes per "
                       "operation, median of iterations):\n")
            out.append("| keys | distribution | " + " | ".join(LABELS[m] for m in columns) + " |")
            out.append("|---:|---|" + "---:|" * len(columns))
            for case in cases:
                if case not in alloc:
                    out.append(f"| {case[0]} | {case[1]} | not measured |"
                               + " |" * (len(columns) - 1))
                    continue
                row = alloc[case]
                out.append(f"| {case[0]} | {case[1]} | " + " | ".join(
                    (f"{row[m]:.3f}" if m in row else "n/a") for m in columns) + " |")
            worst = max((alloc[c]["statBuffer"] for c in alloc if "statBuffer" in alloc[c]),
                        default=None)
            verdicts.setdefault("alloc", []).append((threads, worst))
    verdicts["losses"] = losses
    verdicts["headline"] = headline
    verdicts["increment"] = scores


def ratio_text(ratio):
    """How a ratio reads in the charts: as the tables print ratios, with an x."""
    return f"{ratio:.2f}x"


def peers_chart(verdicts, images, machine):
    """docs/img/peers.svg: StatBuffer's median / each peer's median, from the medians the
    increment tables print. Returns the file name, or None when no case was measured."""
    scores = verdicts.get("increment", {})
    if not any(scores.values()):
        return remove_image(images, "peers.svg")
    groups = []
    for threads in sorted(scores):
        cases = []
        for case in sorted(set(scores[threads]) | set(CANONICAL_CASES), key=case_order):
            label = f"{int(case[0]):,} key{'s' if case[0] != '1' else ''}, {case[1]}" \
                if str(case[0]).isdigit() else f"{case[0]} keys, {case[1]}"
            row = scores[threads].get(case)
            if not row or "statBuffer" not in row:
                cases.append((label, None))
                continue
            ratios = {}
            for peer in PEERS:
                if row.get(peer):
                    ratio = row["statBuffer"] / row[peer]
                    ratios[peer] = (ratio, ratio_text(ratio))
            cases.append((label, ratios))
        groups.append((f"{threads} thread{'s' if threads != 1 else ''}", cases))
    svg = charts.peers_svg(groups, [(p, LABELS[p]) for p in PEERS], run_label(machine))
    return write_image(images, "peers.svg", svg)


def run_label(machine):
    date = machine.get("date")
    profile = machine.get("profile")
    text = f"bench/run of {date}" if date else "bench/run"
    return text + (f", {profile} profile" if profile else "")


def remove_image(images, name):
    """A chart this run cannot draw must not survive from an earlier run."""
    path = os.path.join(images, name)
    if os.path.exists(path):
        os.remove(path)
    return None


def write_image(images, name, svg):
    os.makedirs(images, exist_ok=True)
    with open(os.path.join(images, name), "w", encoding="utf-8", newline="\n") as handle:
        handle.write(svg)
    return name


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


def sustained_table(out, entries, verdicts):
    out.append("\n### Increments while flushing\n")
    if not entries:
        out.append("Not measured (no sustained.json).\n")
        return
    out.append("StatBuffer, 2 threads, uniform keys. `flushing`: interval 100 ms and a batch "
               "handler that parks 1 ms per 1 000 keys; `idle`: the same buffer with an interval of "
               "one hour (nothing is flushed). Million increments per second (median), and the "
               f"ratio flushing / idle. Target (issue 9): flushing / idle >= {SUSTAINED_TARGET}x "
               "for every key count.\n")
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
        verdicts.setdefault("sustained", []).append(
            (keys, flushing / idle if flushing and idle else None))


NEW_KEYS_IMPLEMENTATIONS = [
    ("statBuffer", "StatBuffer `increment(key)`"),
    ("chmLongAdder", "CHM<K,LongAdder> `computeIfAbsent(key, k -> new LongAdder()).add(1)`"),
]


def new_keys_table(out, entries, verdicts):
    out.append("\n### First increments (new keys)\n")
    if not entries:
        out.append("Not measured (no newkeys.json).\n")
        return
    batch = max(int(e.get("measurementBatchSize", 0) or 0) for e in entries)
    out.append("Every measured increment counts a key the structure has never seen: one "
               f"thread, a single shot of {batch:,} first increments of distinct pre-built keys per iteration, each "
               "iteration on an empty StatBuffer (interval one hour, no-op batch handler) or an "
               "empty `ConcurrentHashMap<K, LongAdder>`, made (after a `System.gc()`) in the "
               "iteration's untimed set-up. Median over the measured iterations; keys/s = keys "
               "per shot / time per shot. Ratio to the map's insert; target (issue 9): StatBuffer "
               f">= {NEW_KEYS_TARGET}x.\n")
    out.append("| implementation | keys per shot | ms per shot (median) | keys/s | "
               "ratio to CHM<K,LongAdder> | shots |")
    out.append("|---|---:|---:|---:|---:|---:|")
    rates = {}
    rows = {}
    for entry in entries:
        ms, count = median_of(entry["primaryMetric"])
        keys = int(entry.get("measurementBatchSize", 0) or 0)
        rate = keys / (ms / 1000.0) if ms > 0 else None
        rates[method(entry)] = rate
        rows[method(entry)] = (keys, ms, rate, count)
    base = rates.get("chmLongAdder")
    for name, label in NEW_KEYS_IMPLEMENTATIONS:
        if name not in rows:
            out.append(f"| {label} | not measured | | | | |")
            continue
        keys, ms, rate, count = rows[name]
        ratio = rate / base if rate and base else None
        out.append(f"| {label} | {keys:,} | {fmt(ms)} | "
                   f"{f'{rate:,.0f}' if rate else 'n/a'} | "
                   f"{f'{ratio:.2f}' if ratio is not None else 'n/a'} | {count} |")
    sb = rates.get("statBuffer")
    verdicts["new_keys"] = (sb / base if sb and base else None, sb, base)


COUNTER_CASES = [
    # (label, StatBuffer method, compared-with method, compared-with label, target)
    ("one hot key", "hotCounter", "hotLongAdder", "bare `LongAdder.increment()`",
     HOT_COUNTER_TARGET),
    ("{keys} keys {distribution}", "keyedCounters", "keyedChmLongAdder",
     "CHM<K,LongAdder> `computeIfAbsent(...).add(1)`", KEYED_COUNTER_TARGET),
]


def counter_table(out, entries, verdicts):
    out.append("\n### Counter handles\n")
    if not entries:
        out.append("Not measured (no counter.json).\n")
        return
    by_method = {method(e): e for e in entries}
    threads = entries[0].get("threads", 2)
    out.append(f"`StatBuffer.Counter` handles, {threads} threads, interval one hour (nothing is "
               "handed over), every counter made and counted once before measurement. *One hot "
               "key*: every thread calls `increment()` on one shared handle, against one shared "
               "`LongAdder` (what any striped counter is measured against). *Keys*: one handle "
               "per key, each thread walking the handles in its own pre-generated key order, "
               "against the `ConcurrentHashMap<K, LongAdder>` peer of the increment tables on the "
               "same walk. Million increments per second (median of every measured iteration), "
               "the ratio StatBuffer / compared-with and its target (issue 9), and bytes allocated "
               "per increment (`-prof gc`, `gc.alloc.rate.norm`, median of iterations; the target "
               "is 0 B/op).\n")
    out.append("| case | StatBuffer handles | compared with | compared-with M/s | ratio | target "
               "| StatBuffer B/op | compared-with B/op |")
    out.append("|---|---:|---|---:|---:|---:|---:|---:|")
    results = []
    for label, mine, theirs, their_label, target in COUNTER_CASES:
        ours = by_method.get(mine)
        other = by_method.get(theirs)
        params = (ours or other or {}).get("params", {})
        keys = params.get("keys", "?")
        label = label.format(keys=f"{int(keys):,}" if keys.isdigit() else keys,
                             distribution=params.get("distribution", "?"))
        if not ours and not other:
            out.append(f"| {label} | not measured | {their_label} | | | {target}x | | |")
            results.append((label, their_label, None, target, None))
            continue

        def score(entry):
            return median_of(entry["primaryMetric"])[0] if entry else None

        def norm(entry):
            metric = (entry or {}).get("secondaryMetrics", {}).get("gc.alloc.rate.norm")
            return median_of(metric)[0] if metric else None
        a, b = score(ours), score(other)
        ratio = a / b if a and b else None
        a_norm, b_norm = norm(ours), norm(other)
        out.append(f"| {label} | {fmt(a) if a else 'n/a'} | {their_label} | "
                   f"{fmt(b) if b else 'n/a'} | {f'{ratio:.2f}' if ratio else 'n/a'} | "
                   f"{target}x | {f'{a_norm:.3f}' if a_norm is not None else 'n/a'} | "
                   f"{f'{b_norm:.3f}' if b_norm is not None else 'n/a'} |")
        results.append((label, their_label, ratio, target, a_norm))
    verdicts["counter"] = (threads, results)


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
        "the sink writing every distinct key (`JdbcSink`: transactions of at most "
        "`maxRowsPerTransaction` rows, 100 by default, ledger "
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
            out.append(f"| {label} | not measured |" + " |" * 9)
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
        def cell(value, form):
            return form.format(value) if value is not None else "n/a"
        sinks[(kind, store)] = {"keys_per_s": keys_per_s, "speedup": speedup, "share": share,
                                "statements": statements,
                                "statements_text": cell(statements, '{:,.0f}'),
                                "speedup_text": cell(speedup, '{:,.0f}x'),
                                "baseline_measured": direct_rate is not None}
        out.append(
            f"| {label} | {cell(flush_ms, '{:,.1f}')} | {cell(keys_per_s, '{:,.0f}')} | "
            f"{cell(statements, '{:,.0f}')} | {cell(fill_ms, '{:,.1f}')} | "
            f"{cell(run_ms, '{:,.1f}')} | {cell(direct_count, '{:,}')} | "
            f"{cell(direct_rate, '{:,.0f}')} | {cell(direct_ms, '{:,.0f}')} | "
            f"{cell(speedup, '{:,.0f}x')} | {cell(share * 100 if share is not None else None, '{:.4f} %')} |")
    verdicts["sinks"] = sinks
    verdicts["sink_increments"] = increments


def sinks_chart(verdicts, images, machine):
    """docs/img/sinks.svg: per store, the writes of the sink table's workload without a buffer
    (one per increment, as the table's share assumes) and through StatBuffer (the table's
    statements per flush). Returns the file name, or None when no store was measured."""
    sinks = verdicts.get("sinks")
    if not sinks:
        return remove_image(images, "sinks.svg")
    increments = verdicts["sink_increments"]
    stores = []
    for kind, store, label in SINK_STORES:
        row = sinks.get((kind, store))
        if row is None:
            stores.append((label, None, "not measured", None, "not measured", None))
            continue
        baseline = increments if row["baseline_measured"] else None
        speedup = row["speedup"]
        stores.append((label, baseline,
                       f"{increments:,}" if baseline else
                       "baseline not measured",
                       row["statements"], row["statements_text"] if row["statements"] else
                       "statements not recorded",
                       f"time: buffered {row['speedup_text']} faster" if speedup else None))
    svg = charts.sinks_svg(stores, increments, run_label(machine))
    return write_image(images, "sinks.svg", svg)


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


DURABLE_MEMORY_TARGET = 0.5      # issue 10: durable increments / in-memory, 2 threads, 1 000 keys
DURABLE_MAP_TARGET = 1.0         # issue 10: durable increments / CHM<K,LongAdder>, the same case
RECOVERY_TARGET_MS = 2000        # issue 10: recovery of 1 000 000 keys
RECOVERY_TARGET_KEYS = 1_000_000
DURABLE_IMPLEMENTATIONS = [
    ("statBuffer", "StatBuffer, in memory"),
    ("durableStatBuffer", "StatBuffer, durable"),
    ("chmLongAdder", LABELS["chmLongAdder"]),
]


def durable_table(out, entries, verdicts):
    out.append("\n### Durable buffers: increments\n")
    if not entries:
        out.append("Not measured (no durable.json).\n")
        return
    by_method = {method(e): e for e in entries}
    first = entries[0]
    params = first.get("params", {})
    threads = first.get("threads", "?")
    keys = params.get("keys", "?")
    keys_text = f"{int(keys):,}" if str(keys).isdigit() else keys
    out.append(f"`DurableBenchmark`, {threads} thread{'s' if threads != 1 else ''}, {keys_text} "
               f"keys {params.get('distribution', '?')}, every key counted once before "
               "measurement: the in-memory StatBuffer and `ConcurrentHashMap<K, LongAdder>` of "
               "the increment tables, and the same buffer made durable (each key's count in a "
               "64-byte slot of a memory-mapped file, forced to the disk every second), in one "
               "JMH run. Million increments per second (median of every measured iteration), "
               "the durable buffer's rate divided by each row's (issue 10's targets: at least "
               f"{DURABLE_MEMORY_TARGET}x the in-memory buffer and {DURABLE_MAP_TARGET}x the "
               "map), and bytes allocated per increment (`-prof gc`, median of iterations).\n")
    out.append("| implementation | M increments/s | durable / this row | B/op | iterations |")
    out.append("|---|---:|---:|---:|---:|")
    scores = {}
    for name, label in DURABLE_IMPLEMENTATIONS:
        entry = by_method.get(name)
        if entry is None:
            out.append(f"| {label} | not measured | | | |")
            continue
        scores[name] = median_of(entry["primaryMetric"])
    durable = scores.get("durableStatBuffer", (None,))[0]
    for name, label in DURABLE_IMPLEMENTATIONS:
        if name not in scores:
            continue
        score, count = scores[name]
        ratio = durable / score if durable and score else None
        metric = by_method[name].get("secondaryMetrics", {}).get("gc.alloc.rate.norm")
        norm = median_of(metric)[0] if metric else None
        out.append(f"| {label} | {fmt(score)} | {f'{ratio:.2f}' if ratio else 'n/a'} | "
                   f"{f'{norm:.3f}' if norm is not None else 'n/a'} | {count} |")
    memory = scores.get("statBuffer", (None,))[0]
    chm = scores.get("chmLongAdder", (None,))[0]
    verdicts["durable"] = {
        "case": f"{threads} threads, {keys_text} keys {params.get('distribution', '?')}",
        "to_memory": durable / memory if durable and memory else None,
        "to_map": durable / chm if durable and chm else None,
    }


def recovery_table(out, entries, verdicts):
    out.append("\n### Durable buffers: recovery\n")
    entry = next((e for e in entries or [] if method(e) == "recover"), None)
    if entry is None:
        out.append("Not measured (no recovery.json).\n")
        return
    keys = int(entry.get("params", {}).get("keys", "0"))
    ms, count = median_of(entry["primaryMetric"])
    values = flatten(entry["primaryMetric"].get("rawData") or [])
    out.append(f"`RecoveryBenchmark`: a child JVM counts {keys:,} keys into a durable buffer and "
               "halts, as after a kill; each shot builds a buffer on a fresh copy of that "
               "directory (files in the page cache) and is timed until `build` returns, ready "
               "to count (the recovered counts are delivered afterwards, untimed). Single shots; "
               "median, fastest and slowest.\n")
    out.append("| keys left by the killed process | ms per recovery (median) | fastest ms | "
               "slowest ms | shots |")
    out.append("|---:|---:|---:|---:|---:|")
    out.append(f"| {keys:,} | {fmt(ms)} | {fmt(min(values)) if values else 'n/a'} | "
               f"{fmt(max(values)) if values else 'n/a'} | {count} |")
    verdicts["recovery"] = (ms, keys)


def durable_memory_table(out, memory, verdicts):
    out.append("\n### Durable buffers: memory per key\n")
    if not memory:
        out.append("Not measured (no durable-memory.json).\n")
        return
    per_key = memory["bytesPerKey"]
    out.append(f"`DurableFootprint`, {memory['keys']:,} keys, each holding a count of 1 000, "
               "measured as the retained-memory table above (key objects excluded, used heap "
               f"after `System.gc()`, median of {memory['repeats']} interleaved repeats). A "
               "durable buffer also has its key files: their size per key, which includes the "
               "free slots of the last file (files grow by doubling). The files are mapped, "
               "not heap: their pages live in the kernel's page cache.\n")
    out.append("| | bytes/key (median) | samples |")
    out.append("|---|---:|---|")
    for name, label in (("statBuffer", "in-memory StatBuffer, heap"),
                        ("durableHeap", "durable StatBuffer, heap"),
                        ("durableFile", "durable StatBuffer, key files"),
                        ("durableTotal", "durable StatBuffer, heap + key files")):
        value = per_key.get(name)
        if value is None:
            out.append(f"| {label} | not measured | |")
            continue
        samples = ", ".join(f"{v:.1f}" for v in value["samples"])
        out.append(f"| {label} | {value['median']:.1f} | {samples} |")
    if "durableSlot" in per_key:
        out.append(f"\nA key's slot is {per_key['durableSlot']} bytes; the journal held "
                   f"{memory.get('durableJournalBytes', 0):,} bytes (nothing was handed over).")


def issue10_targets(out, verdicts):
    out.append("\n## Targets of issue 10 (durable buffers)\n")
    out.append("| target | measured | verdict |")
    out.append("|---|---|---|")
    durable = verdicts.get("durable", {})
    case = durable.get("case", "2 threads, 1,000 keys uniform")

    def row(target, value, form, ok):
        if value is None:
            out.append(f"| {target} | not measured | - |")
        else:
            out.append(f"| {target} | {form.format(value)} | {'met' if ok(value) else 'MISSED'} |")
    row(f"durable increments, {case}: >= {DURABLE_MEMORY_TARGET}x the in-memory buffer",
        durable.get("to_memory"), "{:.2f}x", lambda v: v >= DURABLE_MEMORY_TARGET)
    row(f"durable increments, {case}: >= {DURABLE_MAP_TARGET}x CHM<K,LongAdder>",
        durable.get("to_map"), "{:.2f}x", lambda v: v >= DURABLE_MAP_TARGET)
    recovery = verdicts.get("recovery")
    target = f"recovery of {RECOVERY_TARGET_KEYS:,} keys < {RECOVERY_TARGET_MS:,} ms"
    if recovery is None:
        out.append(f"| {target} | not measured | - |")
    elif recovery[1] != RECOVERY_TARGET_KEYS:
        out.append(f"| {target} | {fmt(recovery[0])} ms for {recovery[1]:,} keys | - (other "
                   "key count) |")
    else:
        row(target, recovery[0], "{:,.1f} ms", lambda v: v < RECOVERY_TARGET_MS)


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
        scores = verdicts.get("increment", {})
        missing = sum(1 for t in CANONICAL_THREADS for c in CANONICAL_CASES
                      if "statBuffer" not in scores.get(t, {}).get(c, {}))
        total = len(CANONICAL_THREADS) * len(CANONICAL_CASES)
        verdict = "MISSED" if losses else "met" if not missing else \
            f"- ({missing} of {total} cases not measured)"
        out.append(f"| no increment case below {FLOOR}x of the best peer | cases below: {text} | "
                   f"{verdict} |")
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


def issue9_targets(out, verdicts):
    out.append("\n## Targets of issue 9\n")
    out.append("| target | measured | verdict |")
    out.append("|---|---|---|")

    def row(target, value, form, ok):
        if value is None:
            out.append(f"| {target} | not measured | - |")
        else:
            out.append(f"| {target} | {form.format(value)} | {'met' if ok(value) else 'MISSED'} |")
    chm, limit = verdicts.get("issue9_increment", (None, None))
    row(f"increment, 2 threads, 1 000 keys uniform: StatBuffer >= {INCREMENT_CHM_TARGET}x "
        "CHM<K,LongAdder>", chm, "{:.2f}x", lambda v: v >= INCREMENT_CHM_TARGET)
    row(f"increment, 2 threads, 1 000 keys uniform: StatBuffer >= {INCREMENT_LIMIT_TARGET}x the "
        "limit (own HashMap per thread)", limit, "{:.2f}x", lambda v: v >= INCREMENT_LIMIT_TARGET)
    new_keys = verdicts.get("new_keys")
    if new_keys and new_keys[0] is not None:
        out.append(f"| first increments of new keys, 1 thread: StatBuffer >= {NEW_KEYS_TARGET}x "
                   f"CHM<K,LongAdder> insert | {new_keys[0]:.2f}x ({new_keys[1]:,.0f} vs "
                   f"{new_keys[2]:,.0f} keys/s) | "
                   f"{'met' if new_keys[0] >= NEW_KEYS_TARGET else 'MISSED'} |")
    else:
        out.append(f"| first increments of new keys, 1 thread: StatBuffer >= {NEW_KEYS_TARGET}x "
                   "CHM<K,LongAdder> insert | not measured | - |")
    threads, counters = verdicts.get("counter", (2, []))
    if not counters:
        out.append(f"| Counter handle, one hot key, 2 threads: >= {HOT_COUNTER_TARGET}x bare "
                   "LongAdder | not measured | - |")
        out.append(f"| Counter handles, 1 000 keys, 2 threads: >= {KEYED_COUNTER_TARGET}x "
                   "CHM<K,LongAdder> | not measured | - |")
    for label, their_label, ratio, target, _ in counters:
        row(f"Counter handle{'' if label == 'one hot key' else 's'}, {label}, {threads} threads: "
            f">= {target}x {their_label}", ratio, "{:.2f}x", lambda v, t=target: v >= t)
    norms = [n for *_, n in counters if n is not None]
    if norms:
        worst = max(norms)
        row("Counter handles: 0 B/op", worst, "worst case {:.3f} B/op",
            lambda v: v < ALLOC_LIMIT)
    sustained = verdicts.get("sustained")
    if not sustained:
        out.append(f"| increments while flushing >= {SUSTAINED_TARGET}x idle, 2 threads | "
                   "not measured | - |")
    for keys, ratio in sustained or []:
        row(f"increments while flushing >= {SUSTAINED_TARGET}x idle, 2 threads, {int(keys):,} "
            "keys", ratio, "{:.2f}x", lambda v: v >= SUSTAINED_TARGET)


def parse_machine(text):
    """machine.txt's "name: value" lines as a dict."""
    machine = {}
    for line in text.splitlines():
        if ":" in line:
            name, value = line.split(":", 1)
            machine[name.strip()] = value.strip()
    return machine


def first_number(text):
    try:
        return float((text or "").split()[0])
    except (IndexError, ValueError):
        return None


def target_verdicts(lines):
    """(target, verdict) of every row of the targets tables in `lines`."""
    rows = []
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[2] in ("met", "MISSED") or \
                len(cells) == 3 and cells[1] == "not measured":
            rows.append((cells[0], cells[2]))
    return rows


def reading(out, verdicts, machine, target_rows):
    """'Reading these figures': sentences computed from this run's figures only."""
    out.append("\n## Reading these figures\n")
    out.append("Written from this run's figures by `statbuffer-bench/report.py`.\n")
    load = first_number(machine.get("load"))
    cores = first_number(machine.get("cores"))
    if load is not None and cores:
        if load > cores / 2:
            out.append(f"- The run began at a 1-minute load average of {machine['load'].split()[0]} "
                       f"on {cores:.0f} cores: other work shared the machine, so the throughput "
                       "figures may be lower and noisier than on a quiet machine. Allocation "
                       "and retained memory do not depend on load.")
        else:
            out.append(f"- The run began at a 1-minute load average of {machine['load'].split()[0]} "
                       f"on {cores:.0f} cores: the machine was quiet when it began.")
    profile = machine.get("profile")
    if profile == "quick":
        out.append("- Quick profile: one fork and a few short iterations per case (see the "
                   "command above), enough for a median, not for fine comparisons; "
                   "`bench/run --full` runs the benchmarks' own settings.")
    elif profile == "full":
        out.append("- Full profile: the benchmarks' own forks and iterations.")
    scores = verdicts.get("increment", {})
    same = []
    for threads in sorted(scores):
        uniform = scores[threads].get(("1", "uniform"), {})
        zipf = scores[threads].get(("1", "zipf"), {})
        pairs = [f"{LABELS[m]} {fmt(uniform[m])} and {fmt(zipf[m])}"
                 for m in ("statBuffer", "chmLongAdder") if m in uniform and m in zipf]
        if pairs:
            same.append(f"{', '.join(pairs)} with {threads} thread{'s' if threads != 1 else ''}")
    if same:
        out.append("- With one key, `uniform` and `zipf` are the same workload, so their two rows "
                   "differ by noise alone. Here they read (million increments/s, uniform and "
                   f"zipf): {'; '.join(same)}. A difference between implementations smaller "
                   "than that is not shown by this run.")
    measured = [(t, v) for t, v in target_rows if v in ("met", "MISSED")]
    missed = [t for t, v in measured if v == "MISSED"]
    unmeasured = len(target_rows) - len(measured)
    if target_rows:
        text = (f"- Targets: {len(measured) - len(missed)} of the {len(measured)} measured were "
                "met" + (f"; missed: {'; '.join(missed)}" if missed else "")
                + (f". Not measured: {unmeasured} (see the targets tables)." if unmeasured
                   else "."))
        out.append(text)


def analysis_links(out, analysis_dir, output_dir):
    out.append("\n## Analysis and measurements by hand\n")
    files = sorted(f for f in os.listdir(analysis_dir) if f.endswith(".md")) \
        if os.path.isdir(analysis_dir) else []
    if not files:
        out.append("None yet.")
        return
    out.append("What the figures above mean for the code, what was changed because of them, and "
               "measurements made by hand during development (before and after comparisons, "
               "fleets of writers, recovery), each with its command, are kept in dated files. "
               "Those are not regenerated: their figures are from the dates they give, not from "
               "the run above.\n")
    for name in files:
        path = os.path.join(analysis_dir, name)
        with open(path, encoding="utf-8") as handle:
            title = next((line[2:].strip() for line in handle if line.startswith("# ")), name)
        link = os.path.relpath(path, output_dir).replace(os.sep, "/")
        out.append(f"- [{title}]({link})")


def main():
    args = sys.argv[1:]
    options = {}
    positional = []
    while args:
        arg = args.pop(0)
        if arg in ("--images", "--analysis"):
            options[arg] = args.pop(0)
        else:
            positional.append(arg)
    if len(positional) not in (2, 3):
        sys.exit("usage: report.py RESULTS_DIR OUTPUT_MD [NOTES_MD] [--images DIR] "
                 "[--analysis DIR]")
    results, output = positional[0], positional[1]
    notes = positional[2] if len(positional) > 2 else ""
    output_dir = os.path.dirname(os.path.abspath(output))
    images = options.get("--images", os.path.join(output_dir, "docs", "img"))
    analysis_dir = options.get("--analysis", os.path.join(output_dir, "docs", "benchmarks"))
    out = []
    verdicts = {}

    def text(name):
        path = os.path.join(results, name)
        return open(path, encoding="utf-8").read().strip() if os.path.exists(path) else "(missing)"

    def image(name, alt):
        link = os.path.relpath(os.path.join(images, name), output_dir).replace(os.sep, "/")
        out.append(f"\n![{alt}]({link})")

    machine = parse_machine(text("machine.txt"))
    out.append("# StatBuffer benchmarks\n")
    out.append("Generated whole by `bench/run` (with `statbuffer-bench/report.py`) from JMH's JSON "
               "output: do not edit by hand; every figure, chart and sentence here is rewritten by "
               "the next run. Every peer is measured in the same run, on the same machine, with "
               "the same keys and threads. Analysis and measurements made by hand are in dated "
               "files, linked at the end.\n")
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
    out.append("\n### StatBuffer against each peer\n")
    if peers_chart(verdicts, images, machine):
        out.append("The medians of the increment tables above, as StatBuffer's divided by each "
                   "peer's (log scale).")
        image("peers.svg", "StatBuffer's increments per second divided by each peer's, per "
              "case: threads, keys and key distribution")
    else:
        out.append("Not measured (no increment JSON).")
    memory_table(out, load(os.path.join(results, "memory.json")), verdicts)
    drain = (load(os.path.join(results, "drain.json")) or []) + \
        (load(os.path.join(results, "drain-perkey.json")) or [])
    drain_table(out, drain, verdicts)
    new_keys_table(out, load(os.path.join(results, "newkeys.json")) or [], verdicts)
    counter_table(out, load(os.path.join(results, "counter.json")) or [], verdicts)
    sustained_table(out, load(os.path.join(results, "sustained.json")), verdicts)
    sinks = (load(os.path.join(results, "sinks-buffered.json")) or []) + \
        (load(os.path.join(results, "sinks-direct.json")) or [])
    sink_table(out, sinks, os.path.join(results, "sink-stats.jsonl"), verdicts)
    if sinks_chart(verdicts, images, machine):
        out.append("\nThe sink table's statements per flush, against one write per increment "
                   "without a buffer (log scale).")
        image("sinks.svg", "Store writes for the sink workload, one per increment against "
              "buffered, per store")
    durable_table(out, load(os.path.join(results, "durable.json")) or [], verdicts)
    recovery_table(out, load(os.path.join(results, "recovery.json")) or [], verdicts)
    durable_memory_table(out, load(os.path.join(results, "durable-memory.json")), verdicts)
    first_target = len(out)
    targets(out, verdicts)
    sink_targets(out, verdicts)
    issue9_targets(out, verdicts)
    issue10_targets(out, verdicts)
    reading(out, verdicts, machine, target_verdicts(out[first_target:]))
    if notes and os.path.exists(notes):
        prose = open(notes, encoding="utf-8").read().strip()
        if prose.startswith("<!--"):  # a note to whoever edits the file, not to readers
            prose = prose[prose.index("-->") + 3:].strip()
        out.append("\n" + prose)
    analysis_links(out, analysis_dir, output_dir)
    with open(output, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
