#!/usr/bin/env bash
# Load test of the release build: GET /healthz, /api/v1/me, /readyz and /api/v1/children/{id}, one run, wrk.
# See bench/README.md. Usage: bash bench/run.sh   (DATABASE=sqlite bash bench/run.sh for the SQLite backend)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

DATABASE=${DATABASE:-postgres}          # postgres | sqlite
BIN=${BIN:-$ROOT/target/release/virtual-school}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}   # where CREATE/DROP DATABASE run
PG_BASE_URL=${PG_BASE_URL:-postgres://postgres@127.0.0.1:5432}         # the bench database is appended
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-5s}
SEED_COUNT=${SEED_COUNT:-10000}
SEED_THREADS=${SEED_THREADS:-8}
SOCIAL_WORKER=${SOCIAL_WORKER:-sw-bench-7}   # whose caseload the child run reads (seed.py: n mod 50)
WAIT_IDLE=${WAIT_IDLE:-0}                    # before each endpoint, wait up to this many seconds for an idle machine
BENCH_OUT=${BENCH_OUT:-}                     # keep raw wrk outputs and the server log here (default: discarded)

# A fixed test secret (40 characters), so `token` and the server agree. Never use it anywhere else.
export VS_JWT_SECRET=bench-only-secret-0123456789abcdefghijk
export RUST_LOG=${RUST_LOG:-warn}   # the access log at info would dominate the measurement

die() { echo "bench: $*" >&2; exit 1; }

for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y wrk curl python3)"
done
[[ -x $BIN ]] || die "$BIN not found: run 'cargo build --release' first"
case $DATABASE in
    postgres) command -v psql >/dev/null || die "psql not found" ;;
    sqlite) ;;
    *) die "DATABASE must be postgres or sqlite, not '$DATABASE'" ;;
esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vs-bench.XXXXXX")
OUT=${BENCH_OUT:-$TMP/out}
mkdir -p "$OUT"
SERVER_PID=
DB_NAME=
# Run a private copy: the target folder is shared, and a rebuild while the benchmark runs must not change it.
BIN_DESC="$BIN, built $(date -u -r "$BIN" +%FT%TZ), sha256 $(sha256sum "$BIN" | cut -c1-12)"
BIN_DESC+=" (working tree now: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")"
BIN_DESC+=" + $(git -C "$ROOT" status --porcelain -- src migrations Cargo.toml Cargo.lock 2>/dev/null | wc -l) uncommitted files in src, migrations, Cargo.*)"
cp "$BIN" "$TMP/virtual-school"
BIN=$TMP/virtual-school

cleanup() {
    local rc=$?
    set +e
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    [[ -f $TMP/server.log && -n $BENCH_OUT ]] && cp "$TMP/server.log" "$OUT/server.log"
    if [[ -n $DB_NAME ]]; then
        psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null \
            && echo "bench: dropped database $DB_NAME" >&2
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- database -------------------------------------------------------------------------------------------------
if [[ $DATABASE == postgres ]]; then
    DB_NAME=vs_bench_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
    psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE $DB_NAME" >/dev/null
    export DATABASE_URL=$PG_BASE_URL/$DB_NAME
    DB_DESC="PostgreSQL $(psql -Atc 'SHOW server_version' "$DATABASE_URL") (database $DB_NAME;"
    DB_DESC+=" fsync=$(psql -Atc 'SHOW fsync' "$DATABASE_URL"),"
    DB_DESC+=" synchronous_commit=$(psql -Atc 'SHOW synchronous_commit' "$DATABASE_URL"))"
else
    export DATABASE_URL=$TMP/vs-bench.db
    DB_DESC="SQLite file $DATABASE_URL"
fi
export VS_DATA_DIR=$TMP/data

sql() {   # one value from the bench database
    if [[ $DATABASE == postgres ]]; then
        psql -Atc "$1" "$DATABASE_URL"
    else
        python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' \
            "$DATABASE_URL" "$1"
    fi
}

# --- server ---------------------------------------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
"$BIN" serve --bind "127.0.0.1:$PORT" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for i in $(seq 1 300); do   # up to 60 s
    curl -fsS -o /dev/null --max-time 2 "$BASE/readyz" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "the server exited"; }
    [[ $i == 300 ]] && { cat "$TMP/server.log" >&2; die "no 200 from /readyz within 60 s"; }
    sleep 0.2
done

token() { "$BIN" token --sub "$1" --role "$2" --ttl-minutes 180; }
VSO_TOKEN=$(token vso-bench vso)
SW_TOKEN=$(token "$SOCIAL_WORKER" social_worker)

echo "bench: $(date -u +%FT%TZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "bench: binary $BIN_DESC"
echo "bench: $DB_DESC"
echo "bench: server $BASE (pid $SERVER_PID, RUST_LOG=$RUST_LOG, default pool and workers)"
busy_now() {   # cores busy over the next 2 seconds
    local a b
    read -r -a a < <(awk '/^cpu / {b = $2 + $3 + $4 + $7 + $8 + $9; print b + $5 + $6, b}' /proc/stat)
    sleep 2
    read -r -a b < <(awk '/^cpu / {b = $2 + $3 + $4 + $7 + $8 + $9; print b + $5 + $6, b}' /proc/stat)
    awk -v n="$(nproc)" -v t="$((b[0] - a[0]))" -v x="$((b[1] - a[1]))" \
        'BEGIN { printf "%.2f", (t > 0) ? (x * n / t) : 0 }'
}
wait_idle() {   # wait_idle WHAT: with WAIT_IDLE > 0, wait up to WAIT_IDLE s for the machine to be idle
    (( WAIT_IDLE > 0 )) || return 0
    local deadline=$((SECONDS + WAIT_IDLE)) b
    while :; do
        b=$(busy_now)
        awk -v b="$b" 'BEGIN { exit !(b < 0.15) }' && return 0
        if (( SECONDS >= deadline )); then
            echo "bench: $1: the machine is still busy ($b cores) after ${WAIT_IDLE}s; going on" >&2
            return 0
        fi
        sleep 3
    done
}
BUSY=$(busy_now)
echo "bench: machine busy before the load: $BUSY of $(nproc) cores"
if awk -v b="$BUSY" 'BEGIN { exit !(b > 0.3) }'; then
    echo "bench: WARNING: something else is using the CPU; the figures will be low and noisy:" >&2
    ps -eo pcpu=,comm= --sort=-pcpu | head -n 5 >&2
fi
echo "bench: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, each run after a $WARMUP warm-up"

# --- seed -----------------------------------------------------------------------------------------------------
python3 "$HERE/seed.py" "$BASE" "$VSO_TOKEN" "$TMP/children.tsv" \
    --count "$SEED_COUNT" --threads "$SEED_THREADS" --deadline 1200
awk -F'\t' -v sw="$SOCIAL_WORKER" '$3 == sw' "$TMP/children.tsv" >"$TMP/caseload.tsv"
CASELOAD=$(wc -l <"$TMP/caseload.tsv")
(( CASELOAD > 0 )) || die "no seeded child belongs to $SOCIAL_WORKER"
echo "bench: seeded $(wc -l <"$TMP/children.tsv") children ($(sql 'SELECT count(*) FROM children') rows);" \
     "$SOCIAL_WORKER has $CASELOAD of them"

# --- check the requests answer what they should before timing them -------------------------------------------
status() { curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }
MINE=$(head -n1 "$TMP/caseload.tsv" | cut -f1)
OTHER=$(awk -F'\t' -v sw="$SOCIAL_WORKER" '$3 != sw {print $1; exit}' "$TMP/children.tsv")
expect() {
    local want=$1 what=$2; shift 2
    local got; got=$(status "$@")
    [[ $got == "$want" ]] || die "$what answered $got, expected $want"
    echo "bench: check: $what -> $got"
}
expect 200 "GET /healthz" "$BASE/healthz"
expect 200 "GET /readyz" "$BASE/readyz"
expect 200 "GET /api/v1/me (vso)" -H "Authorization: Bearer $VSO_TOKEN" "$BASE/api/v1/me"
expect 200 "GET a child on $SOCIAL_WORKER's caseload as $SOCIAL_WORKER" \
    -H "Authorization: Bearer $SW_TOKEN" "$BASE/api/v1/children/$MINE"
expect 404 "GET a child off $SOCIAL_WORKER's caseload as $SOCIAL_WORKER" \
    -H "Authorization: Bearer $SW_TOKEN" "$BASE/api/v1/children/$OTHER"
expect 200 "GET a child as vso" -H "Authorization: Bearer $VSO_TOKEN" "$BASE/api/v1/children/$OTHER"
cut -f1 "$TMP/children.tsv" >"$TMP/all-ids.txt"

# --- load -----------------------------------------------------------------------------------------------------
to_ms() {   # wrk latency (e.g. 812.00us, 1.52ms, 1.01s, 2.00m) -> milliseconds
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : (u == "h") ? 3600000 : -1
        if (f < 0) { print "?"; exit } printf "%.2f", n * f }'
}
field() { awk "$2" "$1"; }
requests_of() { field "$1" '/ requests in / {print $1}'; }

server_alive() {   # stop with the server's exit status and log when it died during a run
    kill -0 "$SERVER_PID" 2>/dev/null && return 0
    local rc=0
    wait "$SERVER_PID" || rc=$?
    SERVER_PID=
    echo "bench: the server died during the $1 run (exit status $rc$( ((rc > 128)) && echo ", signal $((rc - 128))"))" >&2
    echo "bench: wrk said:" >&2; cat "$OUT/$1.warmup.txt" "$OUT/$1.txt" >&2 2>/dev/null || true
    echo "bench: server log (last 40 lines):" >&2; tail -n 40 "$TMP/server.log" >&2
    exit 1
}

# CPU accounting, so a run disturbed by other work on the machine shows it: jiffies used during the measured run
# by the server, by its PostgreSQL backends (plus walwriter, checkpointer, bgwriter), by wrk (children of this
# shell), and by everything else (other processes and kernel softirq time), in cores.
proc_jiffies() { local t=0 p j; for p in "$@"; do j=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) && t=$((t + j)); done; echo "$t"; }
cpu_read() {   # total busy wrk server db
    awk '/^cpu / {b = $2 + $3 + $4 + $7 + $8 + $9; printf "%d %d ", b + $5 + $6, b}' /proc/stat
    awk '{printf "%d ", $16 + $17}' "/proc/$$/stat"
    echo "$(proc_jiffies "$SERVER_PID") $(proc_jiffies "${DB_PIDS[@]}")"
}
DB_PIDS=()
cpu_begin() {
    if [[ $DATABASE == postgres ]]; then
        mapfile -t DB_PIDS < <(psql -Atc "SELECT pid FROM pg_stat_activity WHERE (datname = current_database()
            AND pid <> pg_backend_pid()) OR backend_type IN ('walwriter', 'checkpointer', 'background writer')" \
            "$DATABASE_URL")
    fi
    read -r -a CPU0 < <(cpu_read)
    all_procs >"$TMP/procs0"
}
all_procs() {   # pid comm jiffies, for every process
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '{
        o = index($0, "("); c = match($0, /\) [A-Za-z] /); comm = substr($0, o + 1, c - o - 1); gsub(/ /, "_", comm)
        split(substr($0, c + 2), f, " "); print $1, comm, f[12] + f[13] }'
}
others() {   # the processes outside the benchmark that used most CPU since cpu_begin
    all_procs | awk -v skip=" $SERVER_PID ${DB_PIDS[*]} " -v n="$(nproc)" -v t="$1" '
        NR == FNR { j0[$1] = $3; next }
        index(skip, " " $1 " ") == 0 && $2 != "wrk" { d = $3 - j0[$1]; if (d > 0) use[$2] += d }
        END { for (c in use) if (use[c] * n / t >= 0.05) printf "%s %.2f\n", c, use[c] * n / t }' \
        "$TMP/procs0" - | sort -k2 -rn | head -n 4 | tr '\n' ' ' || true
}
cpu_end() {   # prints "server db wrk other" in cores
    local c1; read -r -a c1 < <(cpu_read)
    awk -v n="$(nproc)" -v t="$((c1[0] - CPU0[0]))" -v b="$((c1[1] - CPU0[1]))" -v w="$((c1[2] - CPU0[2]))" \
        -v s="$((c1[3] - CPU0[3]))" -v d="$((c1[4] - CPU0[4]))" 'BEGIN {
        if (t <= 0) { print "? ? ? ?"; exit }
        k = n / t; o = b - w - s - d; if (o < 0) o = 0; if (d < 0) d = 0
        printf "%.2f %.2f %.2f %.2f\n", s * k, d * k, w * k, o * k }'
    OTHERS=$(others "$((c1[0] - CPU0[0]))")
}

declare -A RPS P50 P99 REQS NON2XX SOCKERR CPU
NAMES=()
run() {   # run NAME PATH_OR_URL [wrk args...]: warm-up, then the measured run
    local name=$1 url=$BASE$2; shift 2
    wait_idle "$name"
    # The URL goes before the other arguments: everything after `--` is for the Lua script.
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$url" "$@" >"$OUT/$name.warmup.txt" 2>&1 \
        || { server_alive "$name"; cat "$OUT/$name.warmup.txt" >&2; die "wrk failed ($name warm-up)"; }
    cpu_begin
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url" "$@" >"$OUT/$name.txt" 2>&1 \
        || { server_alive "$name"; cat "$OUT/$name.txt" >&2; die "wrk failed ($name)"; }
    cpu_end >"$TMP/cpu"
    CPU[$name]=$(<"$TMP/cpu")
    server_alive "$name"
    local f=$OUT/$name.txt
    NAMES+=("$name")
    RPS[$name]=$(field "$f" '/^Requests\/sec:/ {printf "%.0f", $2}')
    P50[$name]=$(to_ms "$(field "$f" '$1 == "50%" {print $2}')")
    P99[$name]=$(to_ms "$(field "$f" '$1 == "99%" {print $2}')")
    REQS[$name]=$(requests_of "$f")
    NON2XX[$name]=$(field "$f" '/Non-2xx or 3xx responses:/ {n += $NF} END {print n + 0}')
    SOCKERR[$name]=$(field "$f" '/Socket errors:/ {gsub(/[^0-9 ]/, ""); for (i = 1; i <= NF; i++) n += $i} END {print n + 0}')
    local wn wsock
    wn=$(field "$OUT/$name.warmup.txt" '/Non-2xx or 3xx responses:/ {n += $NF} END {print n + 0}')
    wsock=$(field "$OUT/$name.warmup.txt" '/Socket errors:/ {gsub(/[^0-9 ]/, ""); for (i = 1; i <= NF; i++) n += $i} END {print n + 0}')
    echo "bench: $name: ${RPS[$name]} req/s, p50 ${P50[$name]} ms, p99 ${P99[$name]} ms," \
         "${REQS[$name]} requests, non-2xx ${NON2XX[$name]}, socket errors ${SOCKERR[$name]}" \
         "(warm-up: $(requests_of "$OUT/$name.warmup.txt") requests, non-2xx $wn, socket errors $wsock);" \
         "cores used: server/db/wrk/other $(tr ' ' / <<<"${CPU[$name]}")${OTHERS:+ (other: $OTHERS)}"
    if [[ ${NON2XX[$name]} != 0 || ${SOCKERR[$name]} != 0 || $wn != 0 || $wsock != 0 ]]; then
        echo "bench: WARNING: $name had errors; wrk said:" >&2
        cat "$f" >&2
    fi
}

AUDIT_READS="SELECT count(*) FROM audit_events WHERE action = 'child.read'"
declare -A AUDIT_ADDED WRK_DONE
run_child() {   # run_child NAME IDS_FILE TOKEN: like run, and counts the audit rows it left
    local name=$1 ids=$2 tok=$3 before after
    before=$(sql "$AUDIT_READS")
    run "$name" "/" -s "$HERE/child.lua" -- "$ids" "$tok"
    sleep 1   # let requests still in flight when wrk stopped finish
    after=$(sql "$AUDIT_READS")
    AUDIT_ADDED[$name]=$((after - before))
    WRK_DONE[$name]=$(( $(requests_of "$OUT/$name.warmup.txt") + REQS[$name] ))
}

run healthz /healthz
run me /api/v1/me -H "Authorization: Bearer $VSO_TOKEN"
run readyz /readyz
run_child child_sw "$TMP/caseload.tsv" "$SW_TOKEN"
run_child child_vso "$TMP/all-ids.txt" "$VSO_TOKEN"

# --- report ---------------------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "?"; else printf "%.2f", a / b }'; }
label() {
    case $1 in
        healthz) echo "GET /healthz" ;;
        me) echo "GET /api/v1/me (vso JWT)" ;;
        readyz) echo "GET /readyz" ;;
        child_sw) echo "GET /api/v1/children/{id} ($SOCIAL_WORKER, $CASELOAD ids)" ;;
        child_vso) echo "GET /api/v1/children/{id} (vso, $SEED_COUNT ids)" ;;
    esac
}
echo
echo "== $DATABASE, $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION =="
printf '%-52s %8s %7s %7s %8s %7s %7s  %s\n' endpoint req/s "p50 ms" "p99 ms" requests non-2xx sockerr \
    "cores: server db wrk other"
for n in "${NAMES[@]}"; do
    printf '%-52s %8s %7s %7s %8s %7s %7s  %s\n' "$(label "$n")" "${RPS[$n]}" "${P50[$n]}" "${P99[$n]}" \
        "${REQS[$n]}" "${NON2XX[$n]}" "${SOCKERR[$n]}" "${CPU[$n]}"
done
echo "(cores: CPU used during the run by the server, its PostgreSQL backends (db), wrk, and everything else: other"
echo " processes and kernel softirq time; other well above 0.1 means the machine was shared and the figures are low)"
echo
echo "me / healthz:         req/s $(ratio "${RPS[me]}" "${RPS[healthz]}"),  p99 $(ratio "${P99[me]}" "${P99[healthz]}")"
for n in child_sw child_vso; do
    r=$(ratio "${RPS[$n]}" "${RPS[readyz]}")
    verdict=$(awk -v r="$r" -v p="${P99[$n]}" 'BEGIN {
        print ((r + 0 >= 0.40) ? "req/s >= 40% of readyz: yes" : "req/s >= 40% of readyz: NO") ", " \
              ((p + 0 < 50) ? "p99 < 50 ms: yes" : "p99 < 50 ms: NO") }')
    [[ $DATABASE == postgres ]] || verdict="the 40% target is for PostgreSQL; SQLite's /readyz never leaves the process"
    printf '%-22s req/s %s,  p99 %s ms  (%s)\n' "$n / readyz:" "$r" "${P99[$n]}" "$verdict"
done
echo
for n in child_sw child_vso; do
    extra=$(( AUDIT_ADDED[$n] - WRK_DONE[$n] ))
    if (( extra >= 0 && extra <= 2 * CONNECTIONS )); then ok="one row per read: yes"; else ok="one row per read: NO"; fi
    echo "audit ($n): $(( AUDIT_ADDED[$n] )) child.read rows added; wrk completed ${WRK_DONE[$n]} requests" \
         "(warm-up + run); $extra more rows, for the requests still in flight when wrk stopped" \
         "(at most $((2 * CONNECTIONS))): $ok"
done
echo "audit_events: $(sql 'SELECT count(*) FROM audit_events') rows in all" \
     "($(sql "$AUDIT_READS") child.read, $(sql "SELECT count(*) FROM audit_events WHERE action = 'child.create'") child.create," \
     "$(sql "SELECT count(*) FROM audit_events WHERE outcome = 'denied'") denied)"
LOGGED=$(grep -cE '^\[[^]]* (WARN|ERROR) ' "$TMP/server.log" || true)
echo "server log: $LOGGED WARN/ERROR lines"
if (( LOGGED > 0 )); then
    grep -E '^\[[^]]* (WARN|ERROR) ' "$TMP/server.log" | sed -E 's/^\[[^ ]+ /[/' | sort | uniq -c | sort -rn | head -n 10
fi
[[ -n $BENCH_OUT ]] && echo "raw wrk outputs: $OUT"
exit 0
