#!/usr/bin/env python3
"""The logs benchmark's baselines: the same queries answered by ripgrep over the raw NDJSON
files and by SQLite FTS5. Driven by bench/logs/run.sh; prints one JSON object per line.

    baselines.py resolve      --data DIR --queries FILE --out FILE
    baselines.py rg           --data DIR --queries FILE [--runs 20] [--budget-secs 20]
    baselines.py sqlite-load  --data DIR --db FILE
    baselines.py sqlite-query --data DIR --db FILE --queries FILE [--runs 20] [--budget-secs 20]

resolve fills the placeholders of the query file ({order_id}, {trace_id}) with IDs taken
from the data, so that the needle queries find something whatever the size.

ripgrep: a query's words in the message become a regular expression over the message's JSON
string ("message", "msg" or "log"), case-insensitive, words separated by anything that is
not a letter or digit; a field query is the query file's "rg" pattern; both are piped when a
query has both. It counts matching lines (rg -c); a histogram is the matching lines'
timestamps cut to the hour and counted with awk.

SQLite: one table with the fields as columns (time, app, env, level, host, pod, HTTP status
and duration, trace ID, and the raw line) with B-tree indexes on the columns queried, and a
contentless FTS5 table over the message (unicode61 tokenizer, which cuts words like ojek's).
"""

import argparse
import calendar
import json
import os
import re
import sqlite3
import subprocess
import sys
import time

MESSAGE_KEYS = ("message", "msg", "log")
TIME_KEYS = ("@timestamp", "timestamp", "time", "ts")
LEVELS = {
    "error": "error", "err": "error", "severe": "error",
    "warn": "warn", "warning": "warn",
    "info": "info", "notice": "info", "information": "info",
    "debug": "debug", "trace": "trace",
    "fatal": "fatal", "crit": "fatal", "critical": "fatal", "panic": "fatal", "emerg": "fatal", "alert": "fatal",
}


def emit(obj):
    print(json.dumps(obj), flush=True)


def data_files(data):
    return sorted(os.path.join(data, f) for f in os.listdir(data) if f.endswith(".ndjson"))


def load_queries(path):
    with open(path) as f:
        return json.load(f)


def measure(runs, budget, once):
    """One warm-up run, then up to `runs` timed runs (at least 3; fewer once `budget` seconds
    are spent). Returns (times in ms, last result)."""
    result = once()
    began = time.perf_counter()
    times = []
    while len(times) < max(runs, 1) and (len(times) < 3 or time.perf_counter() - began < budget):
        t = time.perf_counter()
        result = once()
        times.append((time.perf_counter() - t) * 1000.0)
    return times, result


def percentile(times, p):
    s = sorted(times)
    rank = min(max(int(-(-p * len(s) // 1)), 1), len(s))
    return s[rank - 1]


def timing(times):
    return {
        "runs": len(times),
        "p50_ms": percentile(times, 0.50),
        "p99_ms": percentile(times, 0.99),
        "mean_ms": sum(times) / len(times),
    }


# ---- resolve ---------------------------------------------------------------------------------


def resolve(args):
    """Picks an order ID and a trace ID from the middle of the data."""
    needles = {}
    path = os.path.join(args.data, "orders.production.ndjson")
    with open(path) as f:
        lines = f.readlines()
    for line in lines[len(lines) // 2:]:
        obj = json.loads(line)
        m = re.search(r"\border (7\d{8})\b", obj.get("message", ""))
        if "order_id" not in needles and m:
            needles["order_id"] = m.group(1)
        if "trace_id" not in needles and obj.get("trace_id"):
            needles["trace_id"] = obj["trace_id"]
        if len(needles) == 2:
            break
    text = open(args.queries).read()
    for key, value in needles.items():
        text = text.replace("{" + key + "}", value)
    with open(args.out, "w") as f:
        f.write(text)
    emit({"bench": "needles", **needles})


# ---- ripgrep ---------------------------------------------------------------------------------


def message_regex(words):
    inside = r'(?:[^"\\]|\\.)*?'
    sep = r"[^\p{L}\p{N}]+"
    phrase = sep.join(re.escape(w) for w in words)
    keys = "|".join(MESSAGE_KEYS)
    return rf'"(?:{keys})":"{inside}(?i:\b{phrase}\b)'


TS_HOUR = r'"(?:@timestamp|timestamp|time)":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}'


def rg_pipeline(q, data, mode):
    """The shell pipeline for a query: mode "count" (matching lines) or "histogram"."""
    patterns = []
    if q.get("rg"):
        patterns.append(q["rg"])
    if q.get("message_words"):
        patterns.append(message_regex(q["message_words"]))
    files = " ".join(shell_quote(f) for f in data_files(data))
    rg = "rg --no-filename --no-line-number"
    if mode == "count":
        if not patterns:
            return f"cat {files} | wc -l"
        if len(patterns) == 1:
            return f"{rg} -c -e {shell_quote(patterns[0])} {files} | awk '{{s+=$1}} END {{print s+0}}'"
        return f"{rg} -e {shell_quote(patterns[0])} {files} | rg -c -e {shell_quote(patterns[1])}"
    # Histogram: the matching lines' timestamps cut to the hour, counted per hour by awk, which
    # prints the total (to compare with the other engines).
    buckets = "awk '{c[$0]++} END {for (k in c) s+=c[k]; print s+0}'"
    if not patterns:
        return f"{rg} -o -e {shell_quote(TS_HOUR)} {files} | {buckets}"
    stages = [f"{rg} -e {shell_quote(patterns[0])} {files}"]
    stages += [f"rg -e {shell_quote(p)}" for p in patterns[1:]]
    stages.append(f"rg -o -e {shell_quote(TS_HOUR)}")
    return " | ".join(stages) + " | " + buckets


def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def run_rg(args):
    for q in load_queries(args.queries):
        for op in (["histogram"] if q["kind"] == "histogram" else ["count"]):
            pipeline = rg_pipeline(q, args.data, op)

            def once():
                # pipefail: a regular expression ripgrep refuses (exit 2) is an error, not 0.
                out = subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], capture_output=True, text=True)
                if out.returncode not in (0, 1):
                    raise SystemExit(f"rg failed ({out.returncode}) for {q['name']}: {out.stderr}")
                text = out.stdout.strip()
                return int(text) if text else 0

            times, result = measure(args.runs, args.budget_secs, once)
            emit({"bench": "query", "engine": "rg", "name": q["name"], "kind": q["kind"], "op": op,
                  "result": result, "pipeline": pipeline if len(pipeline) < 600 else pipeline[:600] + "…",
                  **timing(times)})


# ---- SQLite FTS5 -----------------------------------------------------------------------------

_day_cache = {}


def iso_ms(text):
    """'2026-11-20T00:00:01.234…' (UTC) as Unix milliseconds."""
    day = text[:10]
    base = _day_cache.get(day)
    if base is None:
        y, m, d = int(day[:4]), int(day[5:7]), int(day[8:10])
        base = calendar.timegm((y, m, d, 0, 0, 0)) * 1000
        _day_cache[day] = base
    return base + int(text[11:13]) * 3_600_000 + int(text[14:16]) * 60_000 + int(text[17:19]) * 1000 + int(text[20:23])


def row_of(line, app, env):
    obj = json.loads(line)
    ts = None
    for k in TIME_KEYS:
        v = obj.get(k)
        if isinstance(v, str) and len(v) >= 23:
            ts = iso_ms(v)
            break
    message = next((obj[k] for k in MESSAGE_KEYS if isinstance(obj.get(k), str)), "")
    level = next((obj[k] for k in ("level", "severity", "levelname") if isinstance(obj.get(k), str)), None)
    if level is not None:
        level = LEVELS.get(level.lower(), level.lower())
    kube = obj.get("kubernetes") or {}
    host = obj.get("host") if isinstance(obj.get("host"), str) else kube.get("host")
    http = obj.get("http") or {}
    trace = obj.get("trace_id")
    return (ts, app, env, level, host, kube.get("pod_name"), http.get("status"), http.get("duration_ms"),
            trace, line), message


def sqlite_load(args):
    if os.path.exists(args.db):
        os.remove(args.db)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(args.db + suffix):
            os.remove(args.db + suffix)
    db = sqlite3.connect(args.db)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("""CREATE TABLE logs (id INTEGER PRIMARY KEY, ts INTEGER, app TEXT, env TEXT, level TEXT,
                  host TEXT, pod TEXT, http_status INTEGER, http_duration_ms REAL, trace_id TEXT, raw TEXT)""")
    db.execute("CREATE VIRTUAL TABLE fts USING fts5(message, content='', tokenize='unicode61')")
    began = time.perf_counter()
    cpu = time.process_time()
    raw_bytes = 0
    lines = 0
    next_id = 1
    for path in data_files(args.data):
        app, env = os.path.basename(path)[: -len(".ndjson")].split(".", 1)
        with open(path, encoding="utf-8") as f:
            while True:
                chunk = f.readlines(8 << 20)
                if not chunk:
                    break
                rows, texts = [], []
                for line in chunk:
                    raw_bytes += len(line.encode())
                    row, message = row_of(line.rstrip("\n"), app, env)
                    rows.append((next_id, *row))
                    texts.append((next_id, message))
                    next_id += 1
                with db:
                    db.executemany("INSERT INTO logs VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
                    db.executemany("INSERT INTO fts (rowid, message) VALUES (?,?)", texts)
                lines += len(rows)
    load_secs = time.perf_counter() - began
    with db:
        db.execute("CREATE INDEX logs_ts ON logs (ts)")
        db.execute("CREATE INDEX logs_level_ts ON logs (level, ts)")
        db.execute("CREATE INDEX logs_status_ts ON logs (http_status, ts)")
        db.execute("CREATE INDEX logs_duration ON logs (http_duration_ms)")
        db.execute("CREATE INDEX logs_trace ON logs (trace_id)")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    secs = time.perf_counter() - began
    size = os.path.getsize(args.db)
    emit({"bench": "sqlite-load", "raw_bytes": raw_bytes, "lines": lines, "seconds": secs,
          "seconds_without_indexes": load_secs, "cpu_seconds": time.process_time() - cpu,
          "mb_per_s": raw_bytes / 1e6 / secs, "lines_per_s": lines / secs,
          "db_bytes": size, "db_per_raw": size / raw_bytes})


def sqlite_query(args):
    db = sqlite3.connect(args.db)
    with open(os.path.join(args.data, "manifest.json")) as f:
        manifest = json.load(f)
    from_ms, to_ms = manifest["from_ms"], manifest["to_ms"]
    for q in load_queries(args.queries):
        fts = q.get("sqlite_fts")
        where = q.get("sqlite_where") or "1"
        params = []
        if fts:
            where = f"({where}) AND id IN (SELECT rowid FROM fts WHERE fts MATCH ?)"
            params = [fts]
        if q["kind"] == "histogram":
            width = (to_ms - from_ms + q.get("buckets", 72) - 1) // q.get("buckets", 72)
            sqls = {"histogram": (f"SELECT (ts - {from_ms}) / {width} AS b, count(*) FROM logs WHERE {where} "
                                  "GROUP BY b", lambda rows: sum(n for _, n in rows))}
        else:
            count_sql = f"SELECT count(*) FROM logs WHERE {where}"
            if fts and not q.get("sqlite_where"):
                count_sql = "SELECT count(*) FROM fts WHERE fts MATCH ?"
            sqls = {
                "page": (f"SELECT raw FROM logs WHERE {where} ORDER BY ts DESC LIMIT 100", len),
                "count": (count_sql, lambda rows: rows[0][0]),
            }
        for op, (sql, result_of) in sqls.items():
            def once():
                return result_of(db.execute(sql, params).fetchall())

            times, result = measure(args.runs, args.budget_secs, once)
            emit({"bench": "query", "engine": "sqlite", "name": q["name"], "kind": q["kind"], "op": op,
                  "result": result, "sql": sql, **timing(times)})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["resolve", "rg", "sqlite-load", "sqlite-query"])
    p.add_argument("--data")
    p.add_argument("--queries")
    p.add_argument("--out")
    p.add_argument("--db")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--budget-secs", type=float, default=20.0)
    args = p.parse_args()
    {"resolve": resolve, "rg": run_rg, "sqlite-load": sqlite_load, "sqlite-query": sqlite_query}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
