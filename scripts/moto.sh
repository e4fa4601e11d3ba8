#!/usr/bin/env bash
# scripts/moto.sh: the local AWS emulator (moto) that development and tests run against.
#
# Usage: scripts/moto.sh start|stop|status|env
#   start   install moto into .venv on first use, start a server on a free loopback port (or
#           reuse the running one), then print the `export` lines for it on stdout
#   stop    stop the server started by `start` (by the PID in .moto/pid)
#   status  exit 0 when a server started by `start` is alive and answering
#   env     print the `export` lines for the running server
#
# Point the current shell at the emulator: eval "$(scripts/moto.sh start)"
# Messages go to stderr so that stdout is only the export lines.
#
# Environment: PYTHON (default python3), TXDEPLOY_MOTO_VENV (default .venv in the repo),
# TXDEPLOY_MOTO_PORT (default: a free port chosen by the kernel).
set -euo pipefail

MOTO_VERSION=5.2.5
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${TXDEPLOY_MOTO_VENV:-$ROOT/.venv}
STATE=$ROOT/.moto
PYTHON=${PYTHON:-python3}

say() { echo "moto: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

# Installs the pinned moto into the venv unless that exact version is already there.
ensure_installed() {
    local have=""
    if [[ -x $VENV/bin/python ]]; then
        have=$("$VENV/bin/python" -c \
            'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null || true)
    fi
    if [[ $have == "$MOTO_VERSION" && -x $VENV/bin/moto_server ]]; then
        return
    fi
    if [[ ! -x $VENV/bin/python ]]; then
        say "creating a Python venv at $VENV"
        "$PYTHON" -m venv "$VENV" ||
            die "\`$PYTHON -m venv\` failed; on Debian install \`python3-venv\`, then run this again"
    fi
    say "installing moto[server]==$MOTO_VERSION into $VENV (once; about a minute)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "moto[server]==$MOTO_VERSION" >&2 ||
        die "pip could not install moto[server]==$MOTO_VERSION; check the network and $VENV"
}

# Asks the kernel for a free loopback port.
free_port() {
    "$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Whether something answers HTTP on the port within a short timeout.
answers() {
    "$PYTHON" - "$1" <<'EOF' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=2)
except urllib.error.HTTPError:
    pass  # any HTTP answer means the server is up
except Exception:
    sys.exit(1)
EOF
}

alive() {
    local pid port
    [[ -f $STATE/pid && -f $STATE/port ]] || return 1
    pid=$(<"$STATE/pid")
    port=$(<"$STATE/port")
    [[ $pid =~ ^[0-9]+$ && $port =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null && answers "$port"
}

print_env() {
    local url
    url="http://127.0.0.1:$(<"$STATE/port")"
    # moto accepts any credentials; fixed ones keep real ones from ever reaching it.
    echo "export TXDEPLOY_TEST_ENDPOINT=$url AWS_ENDPOINT_URL=$url"
    echo "export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1"
}

start() {
    if alive; then
        say "reusing the server on port $(<"$STATE/port") (pid $(<"$STATE/pid"))"
        print_env
        return
    fi
    ensure_installed
    mkdir -p "$STATE"
    local port pid
    port=${TXDEPLOY_MOTO_PORT:-$(free_port)}
    # setsid: a Ctrl-C in the terminal that started it must not stop a server meant to outlive
    # this script (`scripts/dev` leaves it running).
    local launcher=()
    command -v setsid >/dev/null && launcher=(setsid)
    "${launcher[@]}" "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" \
        >"$STATE/server.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$STATE/pid"
    echo "$port" >"$STATE/port"
    local waited=0
    until answers "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$STATE/server.log" >&2 || true
            rm -f "$STATE/pid"
            die "moto_server exited at start (log above, in $STATE/server.log)"
        fi
        if ((waited >= 300)); then
            stop
            die "moto_server did not answer on port $port within 30 s (log: $STATE/server.log)"
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    say "started on port $port (pid $pid, log $STATE/server.log); stop it with scripts/moto.sh stop"
    print_env
}

stop() {
    [[ -f $STATE/pid ]] || {
        say "no server recorded in $STATE/pid; nothing to stop"
        return
    }
    local pid
    pid=$(<"$STATE/pid")
    # A stale record may name a PID the system has since given to another process.
    if [[ ! $pid =~ ^[0-9]+$ ]]; then
        say "$STATE/pid does not hold a PID; clearing the record"
    elif [[ -r /proc/$pid/cmdline ]] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q moto_server; then
        say "pid $pid is no longer moto_server; clearing the record"
    elif kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        say "stopped (pid $pid)"
    else
        say "pid $pid is not running; clearing the record"
    fi
    rm -f "$STATE/pid" "$STATE/port"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) alive ;;
env)
    alive || die "no running server; start one with scripts/moto.sh start"
    print_env
    ;;
*)
    echo "usage: scripts/moto.sh start|stop|status|env" >&2
    exit 2
    ;;
esac
