#!/usr/bin/env bash
# The C-only build on other hosts: big-endian (s390x), 32-bit (armhf, i686)
# and riscv64, built with Debian's cross compilers and run under
# qemu-user (i686 natively). Every trace the C-only runner can run goes
# through each build; its event log, its exit status and the saved state
# of every device at its end (`portlab-run --save-dir`) must be byte for
# byte those of the native x86-64 build. The models' selftests run on each
# host too. A missing byte swap in the little-endian migration container,
# a `long` that is 32 bits, an unaligned access: this is where they show.
#
# Usage (from anywhere): c-src/tools/cross_check.sh [ARCH...]
#   ARCH: s390x armhf i686 riscv64 (default: all). Needs the packages
#   named below; .ci/run installs them.
# Prints a Markdown table (docs/reliability.md has the last one). Exit
# status: 0 every host agrees; 1 the first difference, with the trace and
# what differed; 2 an unknown host name, or a compiler or emulator missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

# arch  compiler  emulator ("-": runs natively)  Debian packages
hosts="
s390x   s390x-linux-gnu-gcc      qemu-s390x-static    gcc-s390x-linux-gnu,libc6-dev-s390x-cross
armhf   arm-linux-gnueabihf-gcc  qemu-arm-static      gcc-arm-linux-gnueabihf,libc6-dev-armhf-cross
i686    i686-linux-gnu-gcc       -                    gcc-i686-linux-gnu,libc6-dev-i386-cross
riscv64 riscv64-linux-gnu-gcc    qemu-riscv64-static  gcc-riscv64-linux-gnu,libc6-dev-riscv64-cross
"
wanted=("$@")
for arch in "${wanted[@]}"; do
    if ! grep -qE "^$arch " <<<"$hosts"; then
        echo "cross_check.sh: unknown host \`$arch\` (known: $(awk 'NF { print $1 }' <<<"$hosts" | paste -sd ' '))" >&2
        exit 2
    fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The traces the C-only runner can run: not those that migrate to Rust.
traces=()
for trace in tests/traces/*/*.trace; do
    grep -qE '^migrate +[a-z0-9]+ +rust' "$trace" || traces+=("$trace")
done

run_all() { # runner-command... : logs, statuses and states into $work/$label
    local dir=$work/$label
    mkdir -p "$dir/states"
    for trace in "${traces[@]}"; do
        local key=${trace//\//_}
        set +e
        "$@" --save-dir "$dir/states" "$trace" >"$dir/$key.log" 2>/dev/null
        echo $? >"$dir/$key.status"
        set -e
    done
}

make -C c-src --quiet BUILD=build/native build/native/portlab-run
label=native
run_all c-src/build/native/portlab-run
states=$(find "$work/native/states" -type f | wc -l)

echo "| host | compiler | run by | traces | identical logs and exit statuses | identical saved states | selftests |"
echo "| --- | --- | --- | ---: | ---: | ---: | --- |"
echo "| x86-64 (reference) | $(cc --version | head -n 1) | native | ${#traces[@]} | - | $states saved | - |"
# The host list comes on descriptor 3, so that nothing in the loop that
# reads standard input can swallow it.
while read -r -u 3 arch compiler emulator packages; do
    [ -n "$arch" ] || continue
    if [ ${#wanted[@]} -gt 0 ] && [[ " ${wanted[*]} " != *" $arch "* ]]; then continue; fi
    if ! command -v "$compiler" >/dev/null 2>&1 || { [ "$emulator" != - ] && ! command -v "$emulator" >/dev/null 2>&1; }; then
        echo "cross_check.sh: $arch needs $compiler and ${emulator/-/no emulator} (apt-get install ${packages//,/ } qemu-user-static)" >&2
        exit 2
    fi
    run=()
    [ "$emulator" = - ] || run=("$emulator")
    # Static, so that qemu-user needs no target libraries.
    make -C c-src --quiet CC="$compiler" BUILD="build/$arch" LDFLAGS="-static" "build/$arch/portlab-run"
    label=$arch
    run_all "${run[@]}" "c-src/build/$arch/portlab-run"
    same_logs=0
    for trace in "${traces[@]}"; do
        key=${trace//\//_}
        if ! cmp -s "$work/native/$key.log" "$work/$arch/$key.log" ||
            ! cmp -s "$work/native/$key.status" "$work/$arch/$key.status"; then
            echo "FAILED: $arch: $trace: the event log or exit status differs from x86-64's" >&2
            diff "$work/native/$key.log" "$work/$arch/$key.log" | head -n 10 >&2 || true
            exit 1
        fi
        same_logs=$((same_logs + 1))
    done
    same_states=0
    for state in "$work"/native/states/*; do
        other=$work/$arch/states/$(basename "$state")
        if ! cmp -s "$state" "$other"; then
            echo "FAILED: $arch: saved state $(basename "$state") differs from x86-64's" >&2
            cmp "$state" "$other" >&2 || true
            exit 1
        fi
        same_states=$((same_states + 1))
    done
    if [ "$(find "$work/$arch/states" -type f | wc -l)" != "$states" ]; then
        echo "FAILED: $arch saved another number of states than x86-64" >&2
        exit 1
    fi
    selftests=()
    for source in c-src/tests/*_selftest.c; do
        name=$(basename "$source" .c)
        make -C c-src --quiet CC="$compiler" BUILD="build/$arch" LDFLAGS="-static" "build/$arch/$name"
        if ! "${run[@]}" "c-src/build/$arch/$name" >"$work/$arch-$name.log" 2>&1; then
            tail -n 20 "$work/$arch-$name.log" >&2
            echo "FAILED: $arch: $name" >&2
            exit 1
        fi
        selftests+=("$name")
    done
    by=$emulator
    [ "$by" != - ] || by=native
    echo "| $arch | $("$compiler" --version | head -n 1) | $by | ${#traces[@]} | $same_logs | $same_states | ${selftests[*]} pass |"
done 3<<<"$hosts"
