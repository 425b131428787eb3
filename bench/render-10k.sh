#!/usr/bin/env bash
# Renders 10,000 synthetic apps (3 processes each) to Kubernetes YAML and Nomad JSON on one
# core, from manifest text to output text, and reports wall time and peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p ojek-core --example render_many
bin=target/release/examples/render_many
n="${1:-10000}"
for mode in text parsed; do
    if [ -x /usr/bin/time ]; then
        taskset -c 0 /usr/bin/time -f "  peak RSS of the whole process: %M KiB" "$bin" "$n" "$mode"
    else
        taskset -c 0 "$bin" "$n" "$mode"
    fi
done
