#!/usr/bin/env bash
# Throughput and memory of the embedded node, against Debian's redis-server as
# the reference, with redis-benchmark. Loopback only, every run bounded (-n).
#
#   bench/server.sh                 # full run (a few minutes on 2 cores)
#   REPS=1 SCALE=0.2 bench/server.sh  # quick smoke run
#
# It builds the release binary, starts one embedded node and one redis-server
# on free 127.0.0.1 ports (and kills exactly those pids on exit), then for
# -c 1 -P 1, -c 50 -P 1 and -c 50 -P 16 measures:
#   ADDJOB q <16 B|1 KiB> 0        vs  LPUSH q <same>
#   GETJOB NOHANG FROM q (pre-filled with jobs of that size)  vs  RPOP q (pre-filled)
# printing requests/s (medians over REPS rounds, each round running the node
# then redis back to back) and the median of the per-round ratios node/redis. Finally it
# starts a fresh node, sends 1,000,000 ADDJOBs of 16 B and reports the growth of
# VmRSS per queued job (and the same for 1,000,000 LPUSHes on a fresh redis).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/disque-embedded
REPS=${REPS:-3}
SCALE=${SCALE:-1}
MEM_JOBS=${MEM_JOBS:-1000000}

scaled() { awk -v n="$1" -v s="$SCALE" 'BEGIN { printf "%d", n * s }'; }

# --- tools -------------------------------------------------------------------
if ! command -v redis-benchmark >/dev/null || ! command -v redis-server >/dev/null ||
    ! command -v redis-cli >/dev/null; then
    echo "installing redis-tools and redis-server" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get install -y redis-tools redis-server >&2
fi

echo "building the release binary" >&2
(cd "$ROOT" && CARGO_TARGET_DIR=$TARGET_DIR cargo build --release -q -p disque-embedded)

# --- processes -----------------------------------------------------------------
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ready() { # port
    for _ in $(seq 1 100); do
        if [ "$(redis-cli -h 127.0.0.1 -p "$1" PING 2>/dev/null)" = "PONG" ]; then
            return 0
        fi
        sleep 0.05
    done
    echo "nothing answers on port $1" >&2
    exit 1
}

start_node() { # port -> sets STARTED_PID
    "$BIN" --bind 127.0.0.1 --port "$1" >/dev/null 2>&1 &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    wait_ready "$1"
}

start_redis() { # port -> sets STARTED_PID
    redis-server --bind 127.0.0.1 --port "$1" --save '' --appendonly no \
        --protected-mode no --daemonize no --loglevel warning >/dev/null 2>&1 &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    wait_ready "$1"
}

stop() { # pid
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# --- measurements ----------------------------------------------------------------
# One redis-benchmark run; prints requests per second.
rps_once() { # port clients pipeline requests command...
    local port=$1 c=$2 p=$3 n=$4
    shift 4
    redis-benchmark -h 127.0.0.1 -p "$port" -c "$c" -P "$p" -n "$n" --csv "$@" 2>/dev/null |
        awk -F'","' 'NR == 2 { print $2 }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

unique() { echo "bench_$$_$(date +%s%N)"; }

# One run of a benchmark on `port`; `fill` names a command run (n * 1.1 +
# 1000 times) first to pre-fill a fresh queue. Prints requests/s.
run_one() { # port clients pipeline requests fill-command(- for none) command...
    local port=$1 c=$2 p=$3 n=$4 fill=$5
    shift 5
    local q
    q=$(unique)
    if [ "$fill" != "-" ]; then
        # shellcheck disable=SC2086
        rps_once "$port" 50 16 $((n + n / 10 + 1000)) ${fill//QUEUE/$q} >/dev/null
    fi
    rps_once "$port" "$c" "$p" "$n" "${@//QUEUE/$q}"
}

# REPS rounds of "node run, then redis run" back to back, so that both see
# the same background load; prints the median node req/s, the median redis
# req/s and the median of the per-round ratios.
pair() { # clients pipeline requests node-fill node-command redis-fill redis-command
    local c=$1 p=$2 n=$3 node_fill=$4 node_cmd=$5 redis_fill=$6 redis_cmd=$7
    local rounds=""
    for _ in $(seq 1 "$REPS"); do
        # shellcheck disable=SC2086
        a=$(run_one "$NODE_PORT" "$c" "$p" "$n" "$node_fill" $node_cmd)
        # shellcheck disable=SC2086
        b=$(run_one "$REDIS_PORT" "$c" "$p" "$n" "$redis_fill" $redis_cmd)
        # Jobs taken by GETJOB stay (active) until acknowledged: start every
        # round empty, so that memory stays bounded and rounds compare.
        redis-cli -h 127.0.0.1 -p "$NODE_PORT" DEBUG FLUSHALL >/dev/null
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" FLUSHALL >/dev/null
        rounds+="$a $b $(ratio "$a" "$b")"$'\n'
    done
    printf '%s' "$rounds" | awk '{ print $1 }' | median
    printf '%s' "$rounds" | awk '{ print $2 }' | median
    printf '%s' "$rounds" | awk '{ print $3 }' | median
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

NODE_PORT=$(free_port)
REDIS_PORT=$(free_port)
start_node "$NODE_PORT"
NODE_PID=$STARTED_PID
start_redis "$REDIS_PORT"
REDIS_PID=$STARTED_PID

P16=$(head -c 16 /dev/zero | tr '\0' x)
P1K=$(head -c 1024 /dev/zero | tr '\0' x)

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(redis-server --version | cut -d' ' -f1-3), REPS=$REPS SCALE=$SCALE"
printf '%-22s %-10s %12s %12s %7s\n' "benchmark" "-c/-P" "node rps" "redis rps" "ratio"
row() { # label c/p then the three lines of `pair`
    local label=$1 cp=$2 node ref r
    { read -r node; read -r ref; read -r r; }
    printf '%-22s %-10s %12.0f %12.0f %7s\n' "$label" "$cp" "$node" "$ref" "$r"
}
for cfg in "1 1 50000" "50 1 200000" "50 16 1000000"; do
    read -r c p n <<<"$cfg"
    n=$(scaled "$n")
    for size in 16 1024; do
        if [ "$size" = 16 ]; then body=$P16; else body=$P1K; fi
        pair "$c" "$p" "$n" - "ADDJOB QUEUE $body 0" - "LPUSH QUEUE $body" |
            row "ADDJOB ${size}B/LPUSH" "$c/$p"
        pair "$c" "$p" "$n" "ADDJOB QUEUE $body 0" "GETJOB NOHANG FROM QUEUE" \
            "LPUSH QUEUE $body" "RPOP QUEUE" |
            row "GETJOB ${size}B/RPOP" "$c/$p"
    done
done
stop "$NODE_PID"
stop "$REDIS_PID"

# --- memory per queued job ---------------------------------------------------------
per_item() { # pid port command...
    local pid=$1 port=$2
    shift 2
    local before after
    before=$(rss_kb "$pid")
    rps_once "$port" 50 16 "$MEM_JOBS" "$@" >/dev/null
    after=$(rss_kb "$pid")
    awk -v a="$after" -v b="$before" -v n="$MEM_JOBS" \
        'BEGIN { printf "%.0f bytes/item (VmRSS %d kB -> %d kB, %d items)", (a - b) * 1024 / n, b, a, n }'
}

NODE_PORT=$(free_port)
start_node "$NODE_PORT"
echo "node  ADDJOB memq <16 B> 0: $(per_item "$STARTED_PID" "$NODE_PORT" ADDJOB memq "$P16" 0)"
echo "      QLEN memq: $(redis-cli -h 127.0.0.1 -p "$NODE_PORT" QLEN memq)"
stop "$STARTED_PID"
REDIS_PORT=$(free_port)
start_redis "$REDIS_PORT"
echo "redis LPUSH memq <16 B>:    $(per_item "$STARTED_PID" "$REDIS_PORT" LPUSH memq "$P16")"
stop "$STARTED_PID"
