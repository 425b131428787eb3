#!/usr/bin/env bash
# The whole test suite: formatting, lints, Rust tests (unit, golden, schema validation,
# property tests, store and API tests on SQLite and PostgreSQL, browser tests in headless
# Chromium), and the self-test of the schema validators. Installs what it needs first
# (Debian and Python packages) and starts a throwaway PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."

# On CI every build is cold: incremental caches would only take disk.
if [ "${CI:-}" = "true" ]; then
  export CARGO_INCREMENTAL=0
fi

echo "==> test dependencies"
bash scripts/install-test-deps.sh

echo "==> cargo fmt --check"
cargo fmt --all --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> PostgreSQL for the store and API tests"
eval "$(bash scripts/postgres.sh start)"
trap 'bash scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT

echo "==> cargo test"
cargo test --workspace --locked

echo "==> target directory: $(du -sh "${CARGO_TARGET_DIR:-target}" 2>/dev/null | cut -f1)"

echo "==> validator self-test"
python3 tools/validate/test_validators.py
