#!/usr/bin/env bash
# The logs benchmark, end to end: generate SIZE of realistic shipped logs, ingest them through
# the ojek log store (write-ahead log + Tantivy) pinned to one core, time the cost of each
# ingest stage, run the query set against the store, then the same queries with ripgrep over
# the raw files and with SQLite FTS5, and print Markdown tables. See bench/logs/README.md.
#
#   bash bench/logs/run.sh [SIZE]          # SIZE like 200M or 5G (powers of 1000); default 5G
#
# Environment: OJEK_LOGBENCH_DIR (where data, store and database go; default /tmp/ojek-logbench),
# CORE (the core to pin to; default 0), RUNS (timed runs per query; default 20), BUDGET (seconds
# per query and engine before stopping early, at least 3 runs; default 20), PRODUCERS (ingest
# threads; default 2), STAGES_MB (the stage breakdown's sample; default 64, 0 to skip),
# CLIENT_CORE (where the HTTP clients run; default 1), CLIENTS (HTTP clients; default 4),
# SKIP=ingest,http,stages,queries,rg,sqlite (any of them; skipping ingest reuses the store of
# an earlier run). The generated data is kept and reused; the stores and the database are built
# anew each run. RESULTS=FILE appends to FILE instead of starting <SIZE>/results.jsonl afresh.
set -euo pipefail
cd "$(dirname "$0")/../.."

size="${1:-5G}"
base="${OJEK_LOGBENCH_DIR:-/tmp/ojek-logbench}"
work="$base/$size"
core="${CORE:-0}"
runs="${RUNS:-20}"
budget="${BUDGET:-20}"
producers="${PRODUCERS:-2}"
stages_mb="${STAGES_MB:-64}"
client_core="${CLIENT_CORE:-1}"
clients="${CLIENTS:-4}"
skip=",${SKIP:-},"
pin=(taskset -c "$core")
results="${RESULTS:-$work/results.jsonl}"

if ! command -v rg >/dev/null && [[ "$skip" != *,rg,* ]]; then
    echo "ripgrep is missing: apt-get install ripgrep (or cargo install ripgrep --locked), or SKIP=rg" >&2
    exit 1
fi

cargo build --release -q -p ojek-logstore --example loggen --example logbench
if [[ "$skip" != *,http,* ]]; then
    cargo build --release -q -p ojek
fi
bin=target/release/examples
mkdir -p "$work"
[ -n "${RESULTS:-}" ] || : >"$results"

if [ ! -f "$work/data/manifest.json" ]; then
    echo "== generating $size into $work/data" >&2
    "$bin/loggen" --bytes "$size" --out "$work/data"
fi
raw=$(du -sb "$work/data" | cut -f1)
free=$(df -B1 --output=avail "$work" | tail -1)
if [ "$free" -lt $((raw * 3)) ]; then
    echo "warning: $((free / 1000000)) MB free under $work; store and SQLite need about 2–3× the data" >&2
fi

python3 bench/logs/baselines.py resolve --data "$work/data" --queries bench/logs/queries.json \
    --out "$work/queries.json" >>"$results"

if [[ "$skip" != *,ingest,* ]]; then
    echo "== ojek ingest (pinned to core $core, $producers producers)" >&2
    "${pin[@]}" "$bin/logbench" ingest --data "$work/data" --store "$work/store" --producers "$producers" \
        | tee -a "$results" >&2
fi

if [[ "$skip" != *,http,* ]]; then
    echo "== ojek ingest over HTTP (server pinned to core $core, $clients clients on core $client_core)" >&2
    srv="$work/http"
    rm -rf "$srv"
    mkdir -p "$srv"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    OJEK_ADMIN_PASSWORD=logbench-admin-password OJEK_LOG=warn "${pin[@]}" target/release/ojek up \
        --listen "127.0.0.1:$port" --data-dir "$srv/data" >"$srv/server.log" 2>&1 &
    server=$!
    trap 'kill "$server" 2>/dev/null || true' EXIT
    for _ in $(seq 300); do
        curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
        sleep 0.1
    done
    secret="ojek_log_logbench-$RANDOM$RANDOM"
    python3 bench/logs/http_ingest.py seed --db "$srv/data/ojek.db" --data "$work/data" --secret "$secret" >&2
    taskset -c "$client_core" python3 bench/logs/http_ingest.py ship --url "http://127.0.0.1:$port" \
        --secret "$secret" --data "$work/data" --server-pid "$server" --clients "$clients" \
        | tee -a "$results" >&2
    logs=$(find "$srv/data" -maxdepth 2 -type d -name index | head -1)
    if [ -n "$logs" ]; then
        echo "{\"bench\": \"http-disk\", \"index_bytes\": $(du -sb "$logs" | cut -f1)}" | tee -a "$results" >&2
    fi
    kill "$server"
    wait "$server" 2>/dev/null || true
    trap - EXIT
    rm -rf "$srv"
fi

if [[ "$skip" != *,stages,* && "$stages_mb" != 0 ]]; then
    echo "== ojek ingest stages (first $stages_mb MB, one thread)" >&2
    "${pin[@]}" "$bin/logbench" stages --data "$work/data" --scratch "$work/scratch" --mb "$stages_mb" \
        | tee -a "$results" >&2
    rm -rf "$work/scratch"
fi

if [[ "$skip" != *,queries,* ]]; then
    echo "== ojek queries" >&2
    "${pin[@]}" "$bin/logbench" query --store "$work/store" --queries "$work/queries.json" \
        --runs "$runs" --budget-secs "$budget" | tee -a "$results" >&2
fi

if [[ "$skip" != *,rg,* ]]; then
    echo "== ripgrep $(rg --version | head -1)" >&2
    "${pin[@]}" python3 bench/logs/baselines.py rg --data "$work/data" --queries "$work/queries.json" \
        --runs "$runs" --budget-secs "$budget" | tee -a "$results" >&2
fi

if [[ "$skip" != *,sqlite,* ]]; then
    echo "== SQLite $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)') FTS5: load" >&2
    "${pin[@]}" python3 bench/logs/baselines.py sqlite-load --data "$work/data" --db "$work/sqlite.db" \
        | tee -a "$results" >&2
    echo "== SQLite FTS5: queries" >&2
    "${pin[@]}" python3 bench/logs/baselines.py sqlite-query --data "$work/data" --db "$work/sqlite.db" \
        --queries "$work/queries.json" --runs "$runs" --budget-secs "$budget" | tee -a "$results" >&2
fi

python3 bench/logs/report.py "$results" "$work/data/manifest.json" | tee "$work/report.md"
