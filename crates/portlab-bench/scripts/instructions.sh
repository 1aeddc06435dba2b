#!/usr/bin/env bash
# Instructions per operation of every benchmark workload on every
# implementation, counted by callgrind: repeatable to the instruction, and
# blind to code alignment and to the rest of the machine, unlike a timer.
#
# Each count is (instructions for 2N operations - instructions for N) / N,
# so process start-up and the workload's setup cancel out.
#
# Usage (from anywhere; needs valgrind):
#   crates/portlab-bench/scripts/instructions.sh > instructions.md
# CARGO_TARGET_DIR is honoured; extra CFLAGS reach the C models through cc.
set -euo pipefail

root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --quiet --profile lto -p portlab-bench --example profile
bin="$target/lto/examples/profile"
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

echo "| workload | floor | c | rust | rust-native | rust/c |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
"$bin" --list | while read -r workload kind implementations; do
    case $kind in
        replay) n=2 ;;
        *) n=20000 ;;
    esac
    # A save+load is a few hundred instructions per byte: fewer suffice.
    [[ $workload == *save-load* ]] && n=2000
    row="| \`$workload\`"
    c=""
    rust=""
    for implementation in floor c rust rust-native; do
        # Not every workload runs natively (the replays never do).
        if [[ ,$implementations, != *,$implementation,* ]]; then
            row+=" | -"
            continue
        fi
        count=$(per_op "$workload" "$implementation" "$n")
        row+=" | $count"
        [[ $implementation == c ]] && c=$count
        [[ $implementation == rust ]] && rust=$count
    done
    ratio=$(awk -v r="$rust" -v c="$c" 'BEGIN { printf "%.3f", r / c }')
    echo "$row | $ratio |"
done
