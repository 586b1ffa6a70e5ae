#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit + integration + differential tests, and the
# official async-nats client's own tests run against rnats-server. Needs only a Rust toolchain
# (and python3 + pip for ../shared/tools/reference-server, which installs the reference binary).
# Ends with one summary line: `total: N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
echo "== cargo fmt --check"
cargo fmt --all -- --check || status=1
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings || status=1
echo "== cargo test"
cargo test --workspace 2>&1 | tee "$log"
[[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
read -r passed failed < <(awk '/^test result:/ {
  for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i }
} END { print p + 0, f + 0 }' "$log")
if [[ -x scripts/conformance-async-nats.sh ]]; then
  echo "== async-nats conformance"
  bash scripts/conformance-async-nats.sh 2>&1 | tee "$log"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  if [[ -n $line ]]; then
    passed=$((passed + $(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")))
    failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
  fi
fi
echo "total: ${passed:-0} passed, ${failed:-0} failed"
exit $status
