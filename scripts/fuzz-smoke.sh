#!/usr/bin/env bash
# Fuzz smoke run: each cargo-fuzz target for a short while (default 30 s), seeded from
# fuzz/seeds/<target>. Prints each target's last libFuzzer status line (cov, ft, corpus), its
# run count and corpus size. Installs cargo-fuzz if missing. The stable toolchain is used with
# RUSTC_BOOTSTRAP=1 (cargo-fuzz needs -Z flags for the sanitizer); no nightly is fetched.
#   usage: scripts/fuzz-smoke.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-30}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(parser conf connect_json jwt creds nkey)
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
  echo "== fuzz $t for ${secs}s"
  # The whole libFuzzer log is kept beside the corpus; a failure shows its tail and stops.
  log="corpus/$t.log"
  rc=0
  cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 \
    >"$log" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]]; then
    tail -n 40 "$log"
    exit "$rc"
  fi
  grep -E '^#[0-9]+' "$log" | tail -n 1
  grep -E '^Done [0-9]+ runs' "$log" || true
  echo "corpus: $(find "corpus/$t" -type f | wc -l) files (log: fuzz/$log)"
done
