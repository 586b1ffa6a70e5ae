#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit + integration + differential tests, and the
# official async-nats client's own tests run against rnats-server.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace
if [[ -x scripts/conformance-async-nats.sh ]]; then
  echo "== async-nats conformance"
  bash scripts/conformance-async-nats.sh
fi
