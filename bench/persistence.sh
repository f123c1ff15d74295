#!/usr/bin/env bash
# The embedded node's append-only persistence, with redis-benchmark.
# Loopback only, every run bounded (-n), temporary directories removed.
#
#   bench/persistence.sh                     # full run (a few minutes on 2 cores)
#   REPS=1 LOAD_JOBS=100000 bench/persistence.sh   # quick smoke run
#
# 1. ADDJOB <16 B> at -c 50 -P 16: a node with --appendonly yes
#    --appendfsync everysec against the same node without persistence
#    (REPS rounds, each running both back to back; medians and the median
#    ratio).
# 2. ADDJOB <16 B> at -c 50 -P 1 with --appendfsync always: group commit (the
#    node as shipped) against one write + fsync per record
#    (DISQUE_EMBEDDED_AOF_NO_GROUP_COMMIT=1, a switch for this baseline only),
#    plus -c 1 for the latency of one fsync.
# 3. Restart: LOAD_JOBS queued jobs of 16 B, clean shutdown, then the time from
#    starting the binary until it answers PING (the node loads before it
#    listens), and the file's bytes per job.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/disque-embedded
REPS=${REPS:-3}
LOAD_JOBS=${LOAD_JOBS:-1000000}

if ! command -v redis-benchmark >/dev/null || ! command -v redis-cli >/dev/null; then
    echo "installing redis-tools" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get install -y redis-tools >&2
fi

echo "building the release binary" >&2
(cd "$ROOT" && CARGO_TARGET_DIR=$TARGET_DIR cargo build --release -q -p disque-embedded)

PIDS=()
DIRS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    for d in "${DIRS[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ready() { # port
    for _ in $(seq 1 6000); do
        if [ "$(redis-cli -h 127.0.0.1 -p "$1" PING 2>/dev/null)" = "PONG" ]; then
            return 0
        fi
        sleep 0.01
    done
    echo "nothing answers on port $1" >&2
    exit 1
}

new_dir() { # -> sets NEW_DIR
    NEW_DIR=$(mktemp -d /tmp/disque-aof-bench.XXXXXX)
    DIRS+=("$NEW_DIR")
}

start_node() { # port dir args... -> sets STARTED_PID
    local port=$1 dir=$2
    shift 2
    "$BIN" --bind 127.0.0.1 --port "$port" --dir "$dir" "$@" >"$dir/log" 2>&1 &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    wait_ready "$port"
}

stop() { # pid
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# SHUTDOWN (the node logs its records and fsyncs), then "records/fsyncs".
shutdown_fsyncs() { # port pid dir
    redis-cli -h 127.0.0.1 -p "$1" SHUTDOWN >/dev/null 2>&1 || true
    wait "$2" 2>/dev/null || true
    { grep -o '[0-9]* records logged, [0-9]* fsyncs' "$3/log" || true; } | tail -1 |
        awk '{ if ($4 > 0) printf "%d records / %d fsyncs = %.1f records per fsync", $1, $4, $1 / $4 }'
}

rps() { # port clients pipeline requests command...
    local port=$1 c=$2 p=$3 n=$4
    shift 4
    redis-benchmark -h 127.0.0.1 -p "$port" -c "$c" -P "$p" -n "$n" --csv "$@" 2>/dev/null |
        awk -F'","' 'NR == 2 { print $2 }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

P16=$(head -c 16 /dev/zero | tr '\0' x)
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), REPS=$REPS"

# --- 1. everysec against no persistence -------------------------------------------
MEM_PORT=$(free_port)
new_dir
start_node "$MEM_PORT" "$NEW_DIR"
MEM_PID=$STARTED_PID
SEC_PORT=$(free_port)
new_dir
start_node "$SEC_PORT" "$NEW_DIR" --appendonly yes --appendfsync everysec
SEC_PID=$STARTED_PID
rounds=""
for _ in $(seq 1 "$REPS"); do
    a=$(rps "$MEM_PORT" 50 16 1000000 ADDJOB q "$P16" 0)
    b=$(rps "$SEC_PORT" 50 16 1000000 ADDJOB q "$P16" 0)
    redis-cli -h 127.0.0.1 -p "$MEM_PORT" DEBUG FLUSHALL >/dev/null
    redis-cli -h 127.0.0.1 -p "$SEC_PORT" DEBUG FLUSHALL >/dev/null
    rounds+="$a $b $(ratio "$b" "$a")"$'\n'
done
stop "$MEM_PID"
stop "$SEC_PID"
printf '%-44s %12s\n' "ADDJOB 16 B, -c 50 -P 16" "req/s"
printf '%-44s %12.0f\n' "  no persistence" "$(printf '%s' "$rounds" | awk '{ print $1 }' | median)"
printf '%-44s %12.0f\n' "  --appendonly yes --appendfsync everysec" "$(printf '%s' "$rounds" | awk '{ print $2 }' | median)"
printf '%-44s %12s\n' "  ratio everysec / none (median of rounds)" "$(printf '%s' "$rounds" | awk '{ print $3 }' | median)"

# --- 2. always: group commit against one fsync per record --------------------------
PORT=$(free_port)
new_dir
GC_DIR=$NEW_DIR
start_node "$PORT" "$GC_DIR" --appendonly yes --appendfsync always
GC_PID=$STARTED_PID
gc50=$(rps "$PORT" 50 1 20000 ADDJOB q "$P16" 0)
gc_fsyncs=$(shutdown_fsyncs "$PORT" "$GC_PID" "$GC_DIR")
PORT=$(free_port)
new_dir
start_node "$PORT" "$NEW_DIR" --appendonly yes --appendfsync always
C1_PID=$STARTED_PID
gc1=$(rps "$PORT" 1 1 2000 ADDJOB q "$P16" 0)
stop "$C1_PID"
PORT2=$(free_port)
new_dir
ONE_DIR=$NEW_DIR
DISQUE_EMBEDDED_AOF_NO_GROUP_COMMIT=1 start_node "$PORT2" "$ONE_DIR" --appendonly yes --appendfsync always
ONE_PID=$STARTED_PID
one50=$(rps "$PORT2" 50 1 2000 ADDJOB q "$P16" 0)
one_fsyncs=$(shutdown_fsyncs "$PORT2" "$ONE_PID" "$ONE_DIR")
printf '%-44s %12s\n' "ADDJOB 16 B, --appendfsync always, -P 1" "req/s"
printf '%-44s %12.0f   %s\n' "  group commit, -c 50" "$gc50" "$gc_fsyncs"
printf '%-44s %12.0f   %s\n' "  one fsync per record, -c 50" "$one50" "$one_fsyncs"
printf '%-44s %12s\n' "  ratio group commit / one fsync per record" "$(ratio "$gc50" "$one50")"
printf '%-44s %12.0f\n' "  -c 1 (one fsync per reply)" "$gc1"

# --- 3. restart with LOAD_JOBS queued jobs ---------------------------------------------
PORT=$(free_port)
new_dir
LOAD_DIR=$NEW_DIR
start_node "$PORT" "$LOAD_DIR" --appendonly yes --appendfsync everysec
LOAD_PID=$STARTED_PID
rps "$PORT" 50 16 "$LOAD_JOBS" ADDJOB loadq "$P16" 0 >/dev/null
queued=$(redis-cli -h 127.0.0.1 -p "$PORT" QLEN loadq)
redis-cli -h 127.0.0.1 -p "$PORT" SHUTDOWN >/dev/null 2>&1 || true
wait "$LOAD_PID" 2>/dev/null || true
bytes=$(stat -c %s "$LOAD_DIR/disque.aof")
PORT=$(free_port)
t0=$(date +%s.%N)
start_node "$PORT" "$LOAD_DIR" --appendonly yes
t1=$(date +%s.%N)
cpu=$(awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$STARTED_PID/stat")
back=$(redis-cli -h 127.0.0.1 -p "$PORT" QLEN loadq)
stop "$STARTED_PID"
printf 'restart: %s queued jobs of 16 B (%s after the restart), file %s bytes = %.1f bytes/job\n' \
    "$queued" "$back" "$bytes" "$(awk -v b="$bytes" -v n="$queued" 'BEGIN { print b / n }')"
printf 'restart: start to first PONG %.2f s (CPU %s s); the node says: %s\n' \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$cpu" \
    "$({ grep -o 'loaded [0-9]* records, [0-9]* jobs, in [0-9.]* s' "$LOAD_DIR/log" || true; } | tail -1)"
