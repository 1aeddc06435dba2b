#!/usr/bin/env bash
# Instructions per operation of every benchmark workload on every
# implementation, counted by callgrind: repeatable to the instruction, and
# blind to code alignment and to the rest of the machine, unlike a timer.
# That makes it a performance check CI can run without flaking.
#
# Each count is (instructions for 2N operations - instructions for N) / N,
# so process start-up and the workload's setup cancel out.
#
# Usage (from anywhere; needs valgrind):
#   instructions.sh [--profile release|lto]                 a Markdown table on stdout
#   instructions.sh [--profile P] --write FILE              also record the counts as a baseline
#   instructions.sh [--profile P] --check FILE [--tolerance PCT]
#       the gate: exits 1 when, against the baseline FILE,
#       - any count grew by more than PCT percent (default 3) and 2 instructions, or
#       - Rust needs more instructions than C on a workload where the
#         baseline had it at or below C;
#       a workload where the baseline already has Rust above C is reported as
#       a known excess with both counts (and fails if the excess grows by
#       more than the tolerance): a ratchet, which only lets it shrink.
# A replay's count varies by a few instructions from run to run (hashing
# with per-process seeds); the tolerance absorbs that.
# The profile defaults to release, the build users run. CARGO_TARGET_DIR is
# honoured; extra CFLAGS reach the C models through cc.
set -euo pipefail

profile=release
mode=table
baseline=""
tolerance=3
while [ $# -gt 0 ]; do
    case $1 in
        --profile) profile=$2; shift 2 ;;
        --write) mode=write; baseline=$2; shift 2 ;;
        --check) mode=check; baseline=$2; shift 2 ;;
        --tolerance) tolerance=$2; shift 2 ;;
        *) echo "instructions.sh: unknown argument $1 (see the usage at the top of the script)" >&2; exit 2 ;;
    esac
done
if ! command -v valgrind >/dev/null 2>&1; then
    echo "instructions.sh: valgrind is needed (apt-get install valgrind)" >&2
    exit 2
fi
if [ "$mode" = check ] && [ ! -f "$baseline" ]; then
    echo "instructions.sh: no baseline $baseline (make one with --write)" >&2
    exit 2
fi
# The baseline's path as given, before the cd below.
case $baseline in ""|/*) ;; *) baseline="$PWD/$baseline" ;; esac

root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --quiet --profile "$profile" -p portlab-bench --example profile
bin="$target/$profile/examples/profile"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

total() { # workload implementation ops -> instructions executed
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$bin" "$1" "$2" "$3" </dev/null >/dev/null 2>"$tmp/err"
    awk '/^(summary|totals):/ { print $2; exit }' "$tmp/out"
}

per_op() { # workload implementation n
    local a b
    a=$(total "$1" "$2" "$3")
    b=$(total "$1" "$2" $(($3 * 2)))
    awk -v a="$a" -v b="$b" -v n="$3" 'BEGIN { printf "%.0f", (b - a) / n }'
}

# One line per workload: name floor c rust rust-native ("-" where a
# workload does not run).
"$bin" --list | while read -r workload kind implementations; do
    case $kind in
        replay) n=2 ;;
        *) n=20000 ;;
    esac
    # A save+load is a few hundred instructions per byte: fewer suffice.
    [[ $workload == *save-load* ]] && n=2000
    line="$workload"
    for implementation in floor c rust rust-native; do
        # Not every workload runs natively (the replays never do).
        if [[ ,$implementations, != *,$implementation,* ]]; then
            line+=" -"
        else
            line+=" $(per_op "$workload" "$implementation" "$n")"
        fi
    done
    echo "$line"
done > "$tmp/counts"

echo "Instructions per operation, cargo profile \`$profile\` ($(valgrind --version), $(date -u +%Y-%m-%d)):"
echo
echo "| workload | floor | c | rust | rust-native | rust/c |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
while read -r workload floor c rust native; do
    ratio=$(awk -v r="$rust" -v c="$c" 'BEGIN { printf "%.3f", r / c }')
    echo "| \`$workload\` | $floor | $c | $rust | $native | $ratio |"
done < "$tmp/counts"

case $mode in
    write)
        {
            echo "# Instructions per operation, cargo profile $profile, counted by"
            echo "# crates/portlab-bench/scripts/instructions.sh --profile $profile --write FILE"
            echo "# on $(date -u +%Y-%m-%d) with $(valgrind --version) and $(rustc --version)."
            echo "# workload floor c rust rust-native"
            cat "$tmp/counts"
        } > "$baseline"
        echo
        echo "baseline written to $baseline"
        ;;
    check)
        echo
        awk -v tolerance="$tolerance" '
            function grew(now, then) { return now != "-" && then != "-" && now - then > 2 && now > then * (1 + tolerance / 100) }
            FNR == NR { if ($1 !~ /^#/) { base[$1] = $0 } ; next }
            {
                w = $1
                if (!(w in base)) { printf "new workload %s: floor %s, c %s, rust %s (not in the baseline yet)\n", w, $2, $3, $4; next }
                split(base[w], b, " ")
                names[2] = "floor"; names[3] = "c"; names[4] = "rust"; names[5] = "rust-native"
                for (i = 2; i <= 5; i++) {
                    if (grew($i, b[i])) {
                        printf "FAIL %s %s: %s instructions per operation, baseline %s (more than %s%%)\n", w, names[i], $i, b[i], tolerance
                        failed = 1
                    }
                }
                if ($4 + 0 > $3 + 0) {
                    if (b[4] + 0 <= b[3] + 0) {
                        printf "FAIL %s: Rust %s > C %s instructions per operation (baseline: Rust %s, C %s)\n", w, $4, $3, b[4], b[3]
                        failed = 1
                    } else if (grew($4 - $3 + $3, b[4] - b[3] + $3)) {
                        printf "FAIL %s: Rust exceeds C by %d instructions, baseline by %d\n", w, $4 - $3, b[4] - b[3]
                        failed = 1
                    } else {
                        printf "known excess %s: Rust %s, C %s (+%d; baseline +%d)\n", w, $4, $3, $4 - $3, b[4] - b[3]
                    }
                }
            }
            END { if (failed) { exit 1 } else { print "instruction gate: every workload within the baseline" } }
        ' "$baseline" "$tmp/counts"
        ;;
esac
