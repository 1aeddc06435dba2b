#!/bin/bash -eu
# Builds every cargo-fuzz target in fuzz/ for ClusterFuzzLite and OSS-Fuzz,
# and puts into $OUT what their runners look for beside each binary:
#   TARGET                    the libFuzzer binary
#   TARGET_seed_corpus.zip    fuzz/corpus/TARGET, plus, for the targets that
#                             read trace text, every trace file of the
#                             project (tests/traces) up to MAX_SEED_BYTES
#   TARGET.dict               libFuzzer dictionary (trace text targets)
#   TARGET.options            libFuzzer options (trace_run: max_len)
#
# In the builder image ($SANITIZER set): $SRC/portlab is the checkout, and
# the image's nightly toolchain, cargo-fuzz and environment choose the
# sanitizer (address) and its flags; the cc crate hands the image's CFLAGS
# to the C models, so they are instrumented too.
# Outside Docker (.ci/run runs it so): PORTLAB_ROOT=CHECKOUT OUT=FOLDER on
# the stable toolchain, with RUSTC_BOOTSTRAP=1 and no sanitizer runtime
# (-s none), the same cargo-fuzz build as docs/reliability.md's commands.
root=${PORTLAB_ROOT:-$SRC/portlab}
: "${OUT:?set OUT to the folder the fuzzers go to}"
MAX_SEED_BYTES=8192
cd "$root/fuzz"
if [ -n "${SANITIZER:-}" ]; then
    sanitizer_args=()
else
    export RUSTC_BOOTSTRAP=1
    sanitizer_args=(-s none)
fi
# Where cargo puts the binaries: CARGO_TARGET_DIR when the environment sets
# one (.ci/run does), else the fuzz crate's own target folder.
target_dir=${CARGO_TARGET_DIR:-$root/fuzz/target}
cargo fuzz build -O "${sanitizer_args[@]}" --target-dir "$target_dir"
bin_dir=$target_dir/x86_64-unknown-linux-gnu/release
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
# A failing `cargo fuzz list` inside `for ... in $(...)` would go unseen.
targets=$(cargo fuzz list)
[ -n "$targets" ] || { echo "build.sh: cargo fuzz list found no fuzz target" >&2; exit 1; }
for target in $targets; do
    cp "$bin_dir/$target" "$OUT/"
    mkdir -p "$seeds/$target"
    cp corpus/"$target"/* "$seeds/$target/" 2>/dev/null || true
    case $target in
        trace_parser | trace_run)
            find "$root/tests/traces" -name '*.trace' -size -"$((MAX_SEED_BYTES + 1))"c | while read -r trace; do
                name=${trace#"$root/tests/traces/"}
                cp "$trace" "$seeds/$target/${name//\//-}"
            done
            cp dict/trace.dict "$OUT/$target.dict"
            ;;
    esac
    rm -f "$OUT/${target}_seed_corpus.zip"
    (cd "$seeds/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
done
printf '[libfuzzer]\nmax_len = %d\n' "$MAX_SEED_BYTES" > "$OUT/trace_run.options"
echo "build.sh: $(wc -w <<<"$targets") fuzz targets in $OUT"
