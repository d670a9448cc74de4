#!/usr/bin/env bash
# make fuzz-host: runs each fuzz target for FUZZ_SECONDS (default 60)
# with libFuzzer through cargo fuzz (nightly), seeded with the real files
# the build makes, and prints how many inputs each ran. A crash stops the
# run with libFuzzer's report; the input is kept in fuzz/artifacts/<target>/
# and belongs in a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
corpus=target/fuzz-corpus
user=target/user/x86_64-pc-windows-msvc/release
kernel=target/kernel/x86_64-unknown-none/release/ferrite-kernel

seed() { # seed <target> <files...>
    local dir=$corpus/$1-seeds
    shift
    rm -rf "$dir"
    mkdir -p "$dir" "${dir%-seeds}"
    for f in "$@"; do
        [ -f "$f" ] && cp "$f" "$dir/"
    done
    return 0
}
seed pe "$user"/runtime.dll "$user"/hello.exe "$user"/exit0.exe "$user"/m2-tests.exe
seed boot_config limine.conf
seed kernel_elf
llvm-objcopy --strip-all "$kernel" "$corpus/kernel_elf-seeds/kernel.elf"
seed acpi_tables
seed memory_map
# Small GPT and MBR images that `cargo test -p partitions` writes.
seed partitions target/tmp/partitions-seeds/*.img
seed fat target/tmp/fat-seeds/*.img

total=0
for target in pe boot_config kernel_elf acpi_tables memory_map partitions fat; do
    log=$corpus/$target.log
    # Inputs up to 1 MiB: the stripped kernel, the largest seed, fits.
    (cd fuzz && cargo +nightly fuzz run -O "$target" "../$corpus/$target" "../$corpus/$target-seeds" -- \
        -max_total_time="$seconds" -max_len=1048576 -print_final_stats=1) >"$log" 2>&1 || {
        tail -40 "$log"
        echo "fuzz-host: $target FAILED (input in fuzz/artifacts/$target/, log $log)"
        exit 1
    }
    runs=$(grep -a '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    total=$((total + runs))
    echo "fuzz-host: $target: $runs inputs in $seconds s, no crash"
done
echo "fuzz-host: $total inputs in all"
