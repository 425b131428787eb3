#!/usr/bin/env bash
# API latency with 10,000 stored apps, on SQLite and on a throwaway PostgreSQL server:
# p50/p99 of the app list (first page, search, team filter) and of the editor's render
# preview, over HTTP on loopback. Results go into BENCHMARKS.md by hand.
#
#   bash bench/api-latency.sh [APPS] [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
apps="${1:-10000}"
requests="${2:-500}"
cargo build --release -q -p ojek-server --example api_latency
bin=target/release/examples/api_latency
echo "== SQLite"
"$bin" sqlite "$apps" "$requests"
echo "== PostgreSQL"
eval "$(bash scripts/postgres.sh start)"
db="ojek_bench_$$"
psql "$OJEK_TEST_POSTGRES_URL" -qc "CREATE DATABASE $db" >/dev/null
trap 'psql "$OJEK_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT
url="${OJEK_TEST_POSTGRES_URL%/*}/$db"
"$bin" "$url" "$apps" "$requests"
