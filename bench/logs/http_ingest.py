#!/usr/bin/env python3
"""The logs benchmark's HTTP ingest: the generated NDJSON shipped to a running `ojek up` over
the Elasticsearch bulk API, as Filebeat, Fluent Bit or Vector would, and the server's cost.
Driven by bench/logs/run.sh; prints one JSON object.

    http_ingest.py seed --db DATA_DIR/ojek.db --data DIR --secret SECRET
    http_ingest.py ship --url URL --secret SECRET --data DIR --server-pid PID [--clients 4] [--batch 1000]

seed writes, straight into the server's SQLite database (as the crash test does through the
store), a team `bench`, one app per generated stream's app (the data's app names), and a
team producer secret (SHA-256 of SECRET, as the server keeps them).

ship reads the files interleaved (the stream furthest behind goes next, so all streams move
through time together) and sends batches of lines as `POST /<app>.<env>/_bulk` (a `create`
action before each line, `Authorization: Bearer SECRET`) from `--clients` threads over
keep-alive connections. Each request is answered once its lines are durable in the
write-ahead log. It reports:

- acknowledged MB/s: the data's bytes over the time until the last answer;
- the server's CPU-seconds (all its threads, from /proc) from the first request until it is
  idle again (indexing and commits included), and MB and lines per server CPU-second: the
  cost per core, whatever the pinning;
- MB/s until idle: the data's bytes over the time until the server is idle (with the server
  pinned to one core, the throughput of one core).
"""

import argparse
import hashlib
import http.client
import json
import os
import queue
import sqlite3
import sys
import threading
import time


def data_files(data):
    return sorted(os.path.join(data, f) for f in os.listdir(data) if f.endswith(".ndjson"))


def seed(args):
    apps = sorted({os.path.basename(f).split(".", 1)[0] for f in data_files(args.data)})
    now = int(time.time() * 1000)
    db = sqlite3.connect(args.db, timeout=30)
    with db:
        db.execute("INSERT OR IGNORE INTO teams (name, created_at) VALUES ('bench', ?)", (now,))
        (team,) = db.execute("SELECT id FROM teams WHERE name = 'bench'").fetchone()
        for app in apps:
            db.execute(
                "INSERT OR IGNORE INTO apps (name, team_id, description, search, head, created_at, updated_at,"
                " updated_by) VALUES (?, ?, 'logs benchmark', ?, 0, ?, ?, 'bench')",
                (app, team, app, now, now),
            )
        db.execute(
            "INSERT INTO log_secrets (team_id, app_id, app, name, secret_hash, created_at, created_by)"
            " VALUES (?, NULL, NULL, 'bench', ?, ?, 'bench')",
            (team, hashlib.sha256(args.secret.encode()).digest(), now),
        )
    print(json.dumps({"bench": "http-seed", "team": team, "apps": apps}))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def batches(data, lines_per_batch):
    """(index, body bytes, data bytes, lines), the stream furthest behind first."""
    files = []
    for path in data_files(data):
        app, env = os.path.basename(path)[: -len(".ndjson")].split(".", 1)
        files.append({"index": f"{app}.{env}", "f": open(path, "rb"), "size": os.path.getsize(path), "read": 0})
    action = b'{"create":{}}\n'
    while files:
        file = min(files, key=lambda x: x["read"] / max(x["size"], 1))
        parts, raw, n = [], 0, 0
        while n < lines_per_batch:
            line = file["f"].readline()
            if not line:
                files.remove(file)
                break
            raw += len(line)
            parts.append(action)
            parts.append(line if line.endswith(b"\n") else line + b"\n")
            n += 1
        file["read"] += raw
        if n:
            yield file["index"], b"".join(parts), raw, n


def ship(args):
    host, port = args.url.removeprefix("http://").split(":")
    work = queue.Queue(maxsize=args.clients * 2)
    totals = {"bytes": 0, "lines": 0, "requests": 0}
    errors = []
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection(host, int(port), timeout=300)
        headers = {"Authorization": f"Bearer {args.secret}", "Content-Type": "application/x-ndjson"}
        while True:
            item = work.get()
            if item is None:
                return
            index, body, raw, n = item
            conn.request("POST", f"/{index}/_bulk", body=body, headers=headers)
            resp = conn.getresponse()
            answer = resp.read()
            if resp.status != 200 or b'"errors":false' not in answer[:200]:
                with lock:
                    errors.append(f"{index}: {resp.status} {answer[:300]!r}")
                return
            with lock:
                totals["bytes"] += raw
                totals["lines"] += n
                totals["requests"] += 1

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    cpu0 = cpu_seconds(args.server_pid)
    began = time.perf_counter()
    for t in threads:
        t.start()
    for item in batches(args.data, args.batch):
        if errors:
            break
        work.put(item)
    for _ in threads:
        work.put(None)
    for t in threads:
        t.join()
    acked = time.perf_counter() - began
    if errors:
        sys.exit(f"the server refused a request: {errors[0]}")
    # Wait until the server is idle (indexed and committed): under 2 % of a core for 1 s.
    last = cpu_seconds(args.server_pid)
    while True:
        time.sleep(1.0)
        now = cpu_seconds(args.server_pid)
        if now - last < 0.02:
            break
        last = now
    idle = time.perf_counter() - began - 1.0
    cpu = last - cpu0
    b, n = totals["bytes"], totals["lines"]
    print(json.dumps({
        "bench": "http-ingest", "clients": args.clients, "batch_lines": args.batch, "bytes": b, "lines": n,
        "requests": totals["requests"], "seconds_acknowledged": acked, "seconds_until_idle": idle,
        "server_cpu_seconds": cpu, "mb_per_s_acknowledged": b / 1e6 / acked,
        "mb_per_s_until_idle": b / 1e6 / idle, "lines_per_s_until_idle": n / idle,
        "mb_per_server_cpu_s": b / 1e6 / cpu, "lines_per_server_cpu_s": n / cpu,
    }))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["seed", "ship"])
    p.add_argument("--db")
    p.add_argument("--data")
    p.add_argument("--secret")
    p.add_argument("--url")
    p.add_argument("--server-pid", type=int)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--batch", type=int, default=1000)
    args = p.parse_args()
    {"seed": seed, "ship": ship}[args.command](args)


if __name__ == "__main__":
    main()
