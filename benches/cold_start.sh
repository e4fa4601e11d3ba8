#!/usr/bin/env bash
# Bench of the embedded Lambda bundle: cold start of the Rust `bootstrap` vs an equivalent
# Python 3 + boto3 handler (same run, same emulated runtime API, same moto), validator CPU
# time per request, and the zip size.
#
# Usage: benches/cold_start.sh   (env: TXDEPLOY_TEST_ENDPOINT to reuse a moto server,
#        COLD_START_RUNS=10, BENCH_VENV=/tmp/txdeploy-bench-venv, CARGO_TARGET_DIR)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
venv="${BENCH_VENV:-/tmp/txdeploy-bench-venv}"

# The deployer's build.rs builds (or reuses) the release bootstrap and the zip.
(cd "$repo" && nice -n 15 cargo build --lib --quiet)
bootstrap="$target/lambda-bundles/x86_64-unknown-linux-gnu/release/bootstrap"
zip="$(ls -t "$target"/debug/build/txdeploy-*/out/bundle.zip | head -1)"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check boto3 'moto[server]==5.2.5'

moto_pid=""
cleanup() { if [ -n "$moto_pid" ]; then kill "$moto_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT
if [ -z "${TXDEPLOY_TEST_ENDPOINT:-}" ]; then
  port=5199
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
  moto_pid=$!
  export TXDEPLOY_TEST_ENDPOINT="http://127.0.0.1:$port"
  for _ in $(seq 50); do
    curl -fs "$TXDEPLOY_TEST_ENDPOINT/moto-api/" >/dev/null 2>&1 && break
    sleep 0.2
  done
fi

"$venv/bin/python" "$repo/benches/cold_start/driver.py" "$bootstrap" "$repo/benches/cold_start/python_handler.py"

echo "validator CPU time (release, pure code):"
(cd "$repo/lambda-bundles" && CARGO_TARGET_DIR="$target/lambda-bundles" nice -n 15 \
  cargo bench --quiet --locked --bench validator_bench 2>/dev/null | sed 's/^/  /')

zip_bytes=$(stat -c %s "$zip")
binary_bytes=$(stat -c %s "$bootstrap")
echo "bundle: zip $zip_bytes bytes ($(awk "BEGIN{printf \"%.2f\", $zip_bytes/1048576}") MiB, target <= 8 MiB), stripped bootstrap $binary_bytes bytes"
echo "bundle sha256: $(sha256sum "$zip" | cut -d' ' -f1)"
