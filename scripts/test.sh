#!/usr/bin/env bash
# The whole test suite: formatting, lints, Rust tests (unit, golden, schema validation,
# property tests), and the self-test of the schema validators. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> test dependencies"
bash scripts/install-test-deps.sh

echo "==> cargo fmt --check"
cargo fmt --all --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo test"
cargo test --workspace --locked

echo "==> validator self-test"
python3 tools/validate/test_validators.py
