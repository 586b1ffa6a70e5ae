#!/usr/bin/env bash
# Runs the test suite of the official Rust client (async-nats, pinned below) against a NATS
# server binary: rnats-server from this workspace by default, or any nats-server compatible
# binary given in NATS_SERVER_BIN.
#
# usage: scripts/conformance-async-nats.sh [options] [TEST_FILE...]
#   TEST_FILE        test targets of async-nats (tests/<name>.rs), default: client_tests
#   --no-build       do not build rnats-server (implied when NATS_SERVER_BIN is set)
#   --debug          build/use the debug rnats-server instead of the release one
#   --filter STR     only run tests whose name contains STR
#   --jobs N         tests run in parallel (default: $CONFORMANCE_JOBS or 2)
#   --expected FILE  expectations (default: conformance/async-nats-expected.txt)
#   -h, --help
#
# Environment:
#   NATS_SERVER_BIN        server binary to test (skips building rnats-server)
#   CONFORMANCE_DIR        work dir (default: <repo>/target/conformance)
#   CONFORMANCE_RUN_DIR    logs/results of this run (default: $CONFORMANCE_DIR/run; wiped first)
#   TEST_TIMEOUT           per-test bound in seconds (default 120)
#   TOTAL_TIMEOUT          bound in seconds for running all tests, builds excluded (default 2400)
#   BUILD_TIMEOUT          bound in seconds for each build step (default 5400)
#   CONFORMANCE_JOBS       default for --jobs
#   NATS_SERVER_EXTRA_ARGS extra server arguments (e.g. -DV), passed through to the helper crate
#
# Every test runs in its own process (the test binary with `--exact <name>`) under `timeout`,
# so a hanging test is killed (with the servers it started) and reported as failed.
#
# Expectations file: one test per line, `<test_file> <test_name> pass` or
# `<test_file> <test_name> xfail <owner/reason...>`; `#` starts a comment line; a test name `*`
# sets the default for the whole file. Unlisted tests are expected to pass. Exit status is 1 when an expected-pass test fails or times out (or a build
# fails); an xfail test that passes only prints a notice. The last line printed is
# `N passed, N failed`.
set -uo pipefail

ASYNC_NATS_VERSION=0.51.0
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HELPER_DIR=$ROOT/conformance/nats_server
WORK=${CONFORMANCE_DIR:-$ROOT/target/conformance}
EXPECTED=$ROOT/conformance/async-nats-expected.txt
JOBS=${CONFORMANCE_JOBS:-2}
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
TOTAL_TIMEOUT=${TOTAL_TIMEOUT:-2400}
BUILD_TIMEOUT=${BUILD_TIMEOUT:-5400}
BUILD=1
PROFILE=release
FILTER=
FILES=()

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --no-build) BUILD=0 ;;
    --debug) PROFILE=debug ;;
    --filter) FILTER=$2; shift ;;
    --jobs) JOBS=$2; shift ;;
    --expected) EXPECTED=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
    *) FILES+=("$1") ;;
  esac
  shift
done
[[ ${#FILES[@]} -eq 0 ]] && FILES=(client_tests)

log() { echo "==> $*" >&2; }
die() { echo "error: $*" >&2; exit 2; }

mkdir -p "$WORK" || die "cannot create $WORK"

# ---------------------------------------------------------------- server binary
if [[ -n ${NATS_SERVER_BIN:-} ]]; then
  BUILD=0
else
  if [[ $BUILD == 1 ]]; then
    log "building rnats-server ($PROFILE)"
    args=(build -p rnats-server)
    [[ $PROFILE == release ]] && args+=(--release)
    (cd "$ROOT" && timeout "$BUILD_TIMEOUT" cargo "${args[@]}") || die "building rnats-server failed"
  fi
  NATS_SERVER_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE/rnats-server
fi
[[ -x $NATS_SERVER_BIN ]] || die "server binary $NATS_SERVER_BIN not found or not executable"
NATS_SERVER_BIN=$(cd "$(dirname "$NATS_SERVER_BIN")" && pwd)/$(basename "$NATS_SERVER_BIN")
export NATS_SERVER_BIN
log "server under test: $NATS_SERVER_BIN"

# ---------------------------------------------------------------- async-nats sources
# A throw-away project depending on the pinned crate; cargo downloads it and tells us where.
FETCH=$WORK/fetch
mkdir -p "$FETCH/src"
cat > "$FETCH/Cargo.toml" <<EOF
[package]
name = "conformance-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
async-nats = "=$ASYNC_NATS_VERSION"

[workspace]
EOF
: > "$FETCH/src/lib.rs"
log "fetching async-nats $ASYNC_NATS_VERSION"
(cd "$FETCH" && CARGO_TARGET_DIR=$WORK/fetch/target timeout "$BUILD_TIMEOUT" cargo fetch -q) \
  || die "cargo fetch of async-nats failed"
SRC=$(cd "$FETCH" && cargo metadata --format-version 1 2>/dev/null \
  | grep -o "\"manifest_path\":\"[^\"]*/async-nats-$ASYNC_NATS_VERSION/Cargo.toml\"" \
  | head -n1 | sed 's/^"manifest_path":"//; s/"$//')
SRC=$(dirname "${SRC:-/nonexistent/x}")
[[ -d $SRC/tests ]] || die "async-nats $ASYNC_NATS_VERSION sources (with tests/) not found (got '$SRC')"

# Our copy: the published crate, with its `nats-server` dev-dependency (a path dependency that
# crates.io strips) pointing at conformance/nats_server, without benches (criterion), and made its
# own workspace root. Re-copied only when something changed, so incremental builds survive.
CRATE=$WORK/async-nats-$ASYNC_NATS_VERSION
manifest=$(
  awk '
    /^\[/ { skip = ($0 == "[dev-dependencies.criterion]" || $0 == "[[bench]]") }
    !skip { print }
  ' "$SRC/Cargo.toml"
  printf '\n[dev-dependencies.nats-server]\npath = "%s"\n\n[workspace]\n' "$HELPER_DIR"
)
stamp="$SRC|$HELPER_DIR|$(printf '%s' "$manifest" | sha256sum | cut -d' ' -f1)"
if [[ ! -f $CRATE/.conformance-stamp || $(cat "$CRATE/.conformance-stamp") != "$stamp" ]]; then
  log "preparing $CRATE"
  rm -rf "$CRATE"
  cp -a "$SRC" "$CRATE" || die "copy failed"
  chmod -R u+w "$CRATE"
  printf '%s\n' "$manifest" > "$CRATE/Cargo.toml"
  printf '%s' "$stamp" > "$CRATE/.conformance-stamp"
fi

# ---------------------------------------------------------------- expectations
declare -A EXPECT REASON
if [[ -f $EXPECTED ]]; then
  while read -r f t st reason; do
    [[ -z ${f:-} || $f == \#* ]] && continue
    case $st in
      pass|xfail) EXPECT["$f $t"]=$st; REASON["$f $t"]=${reason:-} ;;
      *) die "$EXPECTED: bad status '$st' for $f $t" ;;
    esac
  done < "$EXPECTED"
else
  log "no expectations file $EXPECTED; every test is expected to pass"
fi

# ---------------------------------------------------------------- run
RUN=${CONFORMANCE_RUN_DIR:-$WORK/run}
rm -rf "$RUN"
mkdir -p "$RUN/tmp"
DEADLINE=$(( $(date +%s) + TOTAL_TIMEOUT ))

# Kills servers that a killed test process left behind: their pid files are still in the run's
# temp dir. Only processes whose command line names that dir are touched.
cleanup_servers() {
  local pf pid
  for pf in "$RUN"/tmp/nats-server-*.pid; do
    [[ -f $pf ]] || continue
    pid=$(tr -dc '0-9' < "$pf")
    if [[ -n $pid && -r /proc/$pid/cmdline ]] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF "$RUN/tmp/"; then
      kill -9 "$pid" 2>/dev/null && echo "killed leftover server $pid" >&2
    fi
    rm -f "$pf"
  done
}
trap 'cleanup_servers' EXIT
trap 'exit 130' INT TERM

# One test, one process. Prints nothing; writes "<status>" to $RUN/<file>/<test>.status.
run_one() {
  local bin=$1 file=$2 name=$3 out=$RUN/$2/$3 now left rc st
  now=$(date +%s)
  left=$(( DEADLINE - now ))
  if (( left <= 0 )); then
    echo "not run: total time bound (TOTAL_TIMEOUT=$TOTAL_TIMEOUT s) exhausted" > "$out.log"
    echo deadline > "$out.status"
    return 0
  fi
  (( left > TEST_TIMEOUT )) && left=$TEST_TIMEOUT
  (cd "$CRATE" && TMPDIR=$RUN/tmp timeout -k 10 "$left" "$bin" --exact "$name" --test-threads=1 \
     > "$out.log" 2>&1)
  rc=$?
  if [[ $rc == 0 ]] && grep -q 'test result: ok. 1 passed' "$out.log"; then st=pass
  elif [[ $rc == 0 ]] && grep -q '1 ignored' "$out.log"; then st=ignored
  elif [[ $rc == 124 || $rc == 137 ]]; then st=timeout; echo "killed after ${left}s (timeout)" >> "$out.log"
  else st=fail
  fi
  echo "$st" > "$out.status"
}
export -f run_one
export RUN DEADLINE TEST_TIMEOUT TOTAL_TIMEOUT CRATE

# First line(s) of the panic in a test log.
panic_msg() {
  awk '/panicked at/ { p = 1 }
       p && (/^stack backtrace:/ || /^note: / || /^failures:/ || /^----/ || /^$/) { p = 0; if (n) shown++ }
       p && shown < 2 && n < 12 { print "      " $0; n++ }' "$1"
  grep -q 'panicked at' "$1" || tail -n 5 "$1" | sed 's/^/      /'
}

TOTAL_PASS=0 TOTAL_FAIL=0
UNEXPECTED=() XPASS=() BUILD_FAILED=()
for file in "${FILES[@]}"; do
  [[ -f $CRATE/tests/$file.rs ]] || { echo "$file: no such test file in async-nats" >&2; BUILD_FAILED+=("$file"); continue; }
  log "building test target $file"
  json=$RUN/$file.build.json
  (cd "$CRATE" && CARGO_TARGET_DIR=$WORK/target timeout "$BUILD_TIMEOUT" \
     cargo test --test "$file" --no-run --message-format=json > "$json" 2> "$RUN/$file.build.log")
  rc=$?
  bin=$(grep -o '"executable":"[^"]*"' "$json" | tail -n1 | sed 's/^"executable":"//; s/"$//')
  if [[ $rc != 0 || -z $bin || ! -x $bin ]]; then
    echo "$file: BUILD FAILED (rc $rc)" >&2
    tail -n 40 "$RUN/$file.build.log" >&2
    BUILD_FAILED+=("$file")
    continue
  fi
  mkdir -p "$RUN/$file"
  all=$("$bin" --list --format terse 2>/dev/null | sed -n 's/: test$//p')
  ignored=$("$bin" --list --ignored --format terse 2>/dev/null | sed -n 's/: test$//p')
  tests=$(comm -23 <(sort <<< "$all") <(sort <<< "$ignored") | grep -F -- "${FILTER}" || true)
  n=$(grep -c . <<< "$tests")
  log "running $n tests of $file ($JOBS at a time, ${TEST_TIMEOUT}s each)"
  started=$(date +%s)
  grep . <<< "$tests" | xargs -P "$JOBS" -I{} bash -c 'run_one "$@"' _ "$bin" "$file" {}

  pass=0 fail=0 xfail=0 xpass=0 unexp=0
  while read -r name; do
    [[ -z $name ]] && continue
    st=$(cat "$RUN/$file/$name.status" 2>/dev/null || echo fail)
    key="$file $name"
    [[ -z ${EXPECT["$key"]:-} && -n ${EXPECT["$file *"]:-} ]] && key="$file *"
    exp=${EXPECT["$key"]:-pass}
    echo "$file $name $st" >> "$RUN/results.txt"
    if [[ $st == pass ]]; then
      pass=$((pass + 1))
      if [[ $exp == xfail ]]; then xpass=$((xpass + 1)); XPASS+=("$file $name (xfail: ${REASON["$key"]})"); fi
    else
      fail=$((fail + 1))
      if [[ $exp == xfail ]]; then xfail=$((xfail + 1))
      else unexp=$((unexp + 1)); UNEXPECTED+=("$file $name [$st]")
      fi
    fi
  done <<< "$tests"
  ign=$(grep -c . <<< "$ignored")
  echo "$file: $pass passed, $fail failed ($xfail expected failures, $unexp unexpected failures, $xpass unexpected passes, $ign ignored; $(( $(date +%s) - started ))s)"
  TOTAL_PASS=$((TOTAL_PASS + pass)) TOTAL_FAIL=$((TOTAL_FAIL + fail))
done
cleanup_servers

status=0
if [[ ${#XPASS[@]} -gt 0 ]]; then
  echo
  echo "NOTICE: expected failures that now pass (update $EXPECTED):"
  printf '  %s\n' "${XPASS[@]}"
fi
if [[ ${#UNEXPECTED[@]} -gt 0 ]]; then
  echo
  echo "UNEXPECTED FAILURES (logs in $RUN/<file>/<test>.log):"
  for u in "${UNEXPECTED[@]}"; do
    echo "  $u"
    read -r f t _ <<< "$u"
    panic_msg "$RUN/$f/$t.log"
  done
  status=1
fi
if [[ ${#BUILD_FAILED[@]} -gt 0 ]]; then
  echo
  echo "BUILD FAILED: ${BUILD_FAILED[*]} (see $RUN/<file>.build.log)"
  status=1
fi
echo
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
exit $status
