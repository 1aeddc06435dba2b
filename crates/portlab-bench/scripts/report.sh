#!/usr/bin/env bash
# The generated section of docs/benchmarks.md, in one command: the build
# users run (`cargo build --release`) and the LTO build (`--profile lto`)
# side by side, with the machine, each build's Rust settings and the flags
# the C models were compiled with.
#
# Each build measures itself in its own `portlab bench --format json` run
# (every implementation interleaved within the run); the builds run one
# after the other, and `portlab bench --from-json` puts the two reports
# into one table and one chart.
#
# Usage (from anywhere):
#   report.sh [--quick] [--markdown FILE] [--svg FILE]
#       defaults: docs/benchmarks.md and docs/benchmarks-ratios.svg; the
#       JSON of each build stays in $CARGO_TARGET_DIR/bench-report/.
# Run it on a quiet machine: anything else running moves the figures.
set -euo pipefail

quick=()
root=$(cd "$(dirname "$0")/../../.." && pwd)
markdown=$root/docs/benchmarks.md
svg=$root/docs/benchmarks-ratios.svg
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=(--quick); shift ;;
        --markdown) markdown=$(realpath -m "$2"); shift 2 ;;
        --svg) svg=$(realpath -m "$2"); shift 2 ;;
        *) echo "report.sh: unknown argument $1 (see the usage at the top of the script)" >&2; exit 2 ;;
    esac
done
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
out=$target/bench-report
mkdir -p "$out"
for profile in release lto; do
    cargo build --quiet --profile "$profile" -p portlab-cli
done
for profile in release lto; do
    echo "report.sh: measuring the $profile build ..." >&2
    "$target/$profile/portlab" bench "${quick[@]}" --format json >"$out/$profile.json"
done
# Paths relative to the checkout when they are inside it: the command is
# printed in the generated section.
rel() { realpath -m --relative-base="$root" "$1"; }
"$target/release/portlab" bench --from-json "$(rel "$out/release.json")" --from-json "$(rel "$out/lto.json")" \
    --markdown "$(rel "$markdown")" --svg "$(rel "$svg")" >/dev/null
echo "report.sh: wrote $markdown and $svg (the runs: $out/release.json, $out/lto.json)" >&2
