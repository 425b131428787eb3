#!/usr/bin/env python3
"""Turns the JSON lines of a bench/logs/run.sh run into Markdown tables.

    report.py RESULTS.jsonl MANIFEST.json
"""

import json
import sys


def ms(v):
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def pair(r):
    return "–" if r is None else f"{ms(r['p50_ms'])} / {ms(r['p99_ms'])}"


def main():
    results = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
    manifest = json.load(open(sys.argv[2]))
    by = {}
    for r in results:
        by.setdefault(r["bench"], []).append(r)
    raw = manifest["bytes"]
    print(f"Data: {raw / 1e6:,.0f} MB of NDJSON, {manifest['lines']:,} lines, "
          f"{len(manifest['streams'])} streams, {manifest['days']} days (seed {manifest['seed']}).")
    print()
    print("### Ingest")
    print()
    print("| what | MB/s | lines/s | per CPU-second: MB / lines | on disk per raw byte |")
    print("|---|---|---|---|---|")
    for r in by.get("ingest", []):
        print(f"| ojek, {r['producers']} producers, pinned to one core: parse, normalise, write-ahead log "
              f"(fsync), index, flush | {r['mb_per_s']:.1f} | {r['lines_per_s']:,.0f} | "
              f"{r['mb_per_cpu_s']:.1f} / {r['lines_per_cpu_s']:,.0f} | index {r['index_per_raw']:.3f}×; "
              f"index + log after the flush {r['index_and_wal_per_raw']:.3f}× |")
    disk = by.get("http-disk", [{}])[0].get("index_bytes")
    for r in by.get("http-ingest", []):
        share = f"index {disk / r['bytes']:.3f}×" if disk else "–"
        print(f"| ojek over HTTP: `POST /<app>.<env>/_bulk` of {r['batch_lines']} lines from {r['clients']} "
              f"clients on the other core, server pinned to one core; until the server is idle (indexed) "
              f"[acknowledged: {r['mb_per_s_acknowledged']:.1f} MB/s] | {r['mb_per_s_until_idle']:.1f} | "
              f"{r['lines_per_s_until_idle']:,.0f} | {r['mb_per_server_cpu_s']:.1f} / "
              f"{r['lines_per_server_cpu_s']:,.0f} | {share} |")
    for r in by.get("sqlite-load", []):
        print(f"| SQLite FTS5 load (Python json + executemany, then B-tree indexes) | {r['mb_per_s']:.1f} | "
              f"{r['lines_per_s']:,.0f} | {r['raw_bytes'] / 1e6 / r['cpu_seconds']:.1f} / "
              f"{r['lines'] / r['cpu_seconds']:,.0f} | {r['db_per_raw']:.3f}× |")
    stages = by.get("stage", [])
    if stages:
        print()
        print(f"Cost by stage, one thread, first {stages[0]['bytes'] / 1e6:.0f} MB in memory:")
        print()
        print("| stage | MB/s | lines/s | CPU-seconds |")
        print("|---|---|---|---|")
        for r in stages:
            print(f"| {r['stage']} | {r['mb_per_s']:.1f} | {r['lines_per_s']:,.0f} | {r['cpu_seconds']:.2f} |")
    queries = [r for r in by.get("query", [])]
    index = {(r["engine"], r["name"], r["op"]): r for r in queries}
    names = []
    for r in queries:
        if r["name"] not in names:
            names.append(r["name"])
    texts = {r["name"]: r.get("query", "") for r in queries if r["engine"] == "ojek"}
    kinds = {r["name"]: r["kind"] for r in queries}
    print()
    print("### Queries (p50 / p99 ms, warm page cache; matches in brackets)")
    print()
    print("| query | ojek newest 100 | ojek count | ripgrep count | SQLite newest 100 | SQLite count |")
    print("|---|---|---|---|---|---|")
    for n in names:
        if kinds[n] == "histogram":
            continue
        ojek_count = index.get(("ojek", n, "count"))
        rg = index.get(("rg", n, "count"))
        sq_count = index.get(("sqlite", n, "count"))
        def with_n(r):
            return "–" if r is None else f"{pair(r)} ({r['result']:,})"
        print(f"| {n}: `{texts.get(n, '')}` | {pair(index.get(('ojek', n, 'page')))} | {with_n(ojek_count)} | "
              f"{with_n(rg)} | {pair(index.get(('sqlite', n, 'page')))} | {with_n(sq_count)} |")
    print()
    print("| histogram (72 hourly buckets) | ojek | ripgrep + awk | SQLite GROUP BY |")
    print("|---|---|---|---|")
    for n in names:
        if kinds[n] != "histogram":
            continue
        cells = []
        for engine in ("ojek", "rg", "sqlite"):
            r = index.get((engine, n, "histogram"))
            cells.append("–" if r is None else f"{pair(r)} ({r['result']:,})")
        print(f"| {n}: `{texts.get(n, '')}` | " + " | ".join(cells) + " |")
    opened = by.get("open")
    if opened:
        o = opened[0]
        print()
        print(f"ojek opened {o['partitions']} partitions ({o['streams']} streams) in {o['seconds'] * 1000:.0f} ms.")


if __name__ == "__main__":
    main()
