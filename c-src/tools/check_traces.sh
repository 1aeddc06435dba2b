#!/bin/sh
# check_traces.sh - runs every trace in tests/traces with one runner and
# compares its standard output with the trace's .events file (the expected
# event log) the way crates/portlab-board/tests/traces.rs does: line for
# line, except that for the traces in recorded/, whose logs hold IRQ line 0
# only, `irq DEV N` lines with N > 0 are dropped from both sides first. A
# trace passes when the runner exits 0 and the two logs are identical.
#
# Usage (from c-src, as the Makefile runs it):
#
#   tools/check_traces.sh [--c-only] RUNNER [ARG...]
#
# --c-only skips the traces that migrate explicitly to Rust, which the
# C-only runner cannot run. TRACES names another trace folder (default
# ../tests/traces).

c_only=0
if [ "$1" = "--c-only" ]; then
    c_only=1
    shift
fi
traces=${TRACES:-../tests/traces}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

fail=0
n=0
skipped=0
for t in "$traces"/*/*.trace; do
    if [ $c_only = 1 ] && grep -qE '^migrate +[a-z0-9]+ +rust' "$t"; then
        skipped=$((skipped + 1))
        continue
    fi
    n=$((n + 1))
    "$@" "$t" >"$tmp/actual" 2>"$tmp/stderr"
    rc=$?
    if [ $rc != 0 ]; then
        echo "FAILED: $* $t (exit status $rc)"
        head -n 3 "$tmp/stderr"
        fail=1
        continue
    fi
    cp "${t%.trace}.events" "$tmp/expected" || { fail=1; continue; }
    case $t in
    */recorded/*)
        for f in actual expected; do
            grep -vE '^irq [a-z0-9_]+ [1-9]' "$tmp/$f" >"$tmp/$f.filtered"
            mv "$tmp/$f.filtered" "$tmp/$f"
        done
        ;;
    esac
    if ! cmp -s "$tmp/expected" "$tmp/actual"; then
        echo "FAILED: $* $t: the event log differs from ${t%.trace}.events"
        diff "$tmp/expected" "$tmp/actual" | head -n 6
        fail=1
    fi
done
if [ $fail != 0 ]; then
    exit 1
fi
if [ $c_only = 1 ]; then
    echo "$n traces match their .events with $* ($skipped need Rust: skipped)"
else
    echo "$n traces match their .events with $*"
fi
