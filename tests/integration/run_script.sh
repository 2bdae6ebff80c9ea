#!/usr/bin/env bash
# README's command 1 (scripts/run): every program that is built starts and
# answers at its URL; every program that is not is named as skipped; Ctrl-C
# (SIGINT) stops everything it started, leaving no process behind.
# Usage: run_script.sh <source dir> <build dir>
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
out=$tmp/out
runpid=
cleanup() {
    if [ -n "$runpid" ]; then # Ctrl-C first, so that scripts/run stops what it started
        kill -INT "$runpid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$runpid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$runpid" 2>/dev/null || true
    fi
    # Whatever it started and did not stop goes too, so no port stays taken.
    if [ -f "$out" ]; then
        for pid in $(sed -n 's/^run: started .* (pid \([0-9]*\)).*/\1/p' "$out"); do
            kill -KILL "$pid" 2>/dev/null || true
        done
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    echo "---- scripts/run printed ----"
    cat "$out"
    exit 1
}

# With job control on, a background job keeps the default SIGINT action, as a
# command run from a terminal does.
set -m
"$src/scripts/run" --no-setup --bin "$build/bin" --data "$tmp/data" >"$out" 2>&1 &
runpid=$!
set +m

# Wait until it has gone through the whole stack.
for _ in $(seq 100); do
    grep -q -e 'press Ctrl-C' -e 'nothing to run yet' "$out" && break
    kill -0 "$runpid" 2>/dev/null || break
    sleep 0.1
done

for p in prom-server prom-node-exporter prom-pushgateway prom-alertmanager; do
    grep -q -e "started $p " -e "skipped $p: not built yet" "$out" ||
        fail "$p was neither started nor skipped as not built"
done
if grep -q 'is taken' "$out"; then
    fail "a default port is taken on this machine"
fi

mapfile -t pids < <(sed -n 's/^run: started .* (pid \([0-9]*\)).*/\1/p' "$out")
mapfile -t urls < <(sed -n 's/^run: started .*: \(http[^ ]*\) .*/\1/p' "$out")
for u in "${urls[@]}"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$u" || true)
    [ "$code" = 200 ] || fail "$u answered $code"
done

if [ "${#pids[@]}" -eq 0 ]; then
    wait "$runpid" || fail "scripts/run exited with $? when nothing was built"
    runpid=
    grep -q 'nothing to run yet' "$out" || fail "no 'nothing to run yet' line"
    echo "run: nothing is built yet; every program was reported as skipped"
    exit 0
fi

kill -INT "$runpid"
rc=0
wait "$runpid" || rc=$?
runpid=
[ "$rc" -eq 130 ] || fail "scripts/run exited with $rc after SIGINT, not 130"
for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
        fail "pid $pid is still running after Ctrl-C"
    fi
done
echo "run: started ${#pids[@]} programs, all answered, all gone after SIGINT"
