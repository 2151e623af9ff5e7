#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time: `fuzz/run-all.sh
# [SECONDS] [TARGET...]` (default 30 s each, every target). .ci/run calls it;
# developers can too. Needs cargo-fuzz (`cargo install cargo-fuzz --locked`).
#
# - Stable toolchain: cargo-fuzz passes nightly flags (-Zsanitizer, sancov
#   passes), so RUSTC_BOOTSTRAP=1 lets the stable compiler take them. The
#   sanitizer is AddressSanitizer: its runtime ships with stable's std for
#   x86_64 Linux, so it links without -Zbuild-std (std itself is not
#   instrumented, our code and its dependencies are). FUZZ_SANITIZER=none
#   runs without it.
# - The repo's corpus (fuzz/corpus/TARGET) is a read-only seed: it is copied
#   to a temporary folder that libFuzzer may grow, so a run never writes into
#   the repository (nor do crash artifacts, which go to the same folder).
# - A crash, a leak, a timeout (an input taking over 10 s) or running out of
#   memory fails the run: the script prints libFuzzer's report, the input (hex
#   and base64) and how to reproduce it, keeps the folder, and exits 1 after
#   running the remaining targets.
# - The build goes to ${CARGO_TARGET_DIR:-target}/fuzz, apart from the
#   ordinary build (other RUSTFLAGS would rebuild it each time).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

seconds="${1:-30}"
shift || true
case "$seconds" in
    '' | *[!0-9]*) echo "usage: fuzz/run-all.sh [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac
sanitizer="${FUZZ_SANITIZER:-address}"
target_dir="${CARGO_TARGET_DIR:-$root/target}/fuzz"
export RUSTC_BOOTSTRAP=1

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi
if [ "${#targets[@]}" -eq 0 ]; then
    echo "fuzz: no targets (is cargo-fuzz installed? cargo install cargo-fuzz --locked)" >&2
    exit 2
fi

build_start=$SECONDS
build_log="$(mktemp)"
# `cargo fuzz build` builds one target, or all without one.
build() {
    if ! cargo fuzz build --sanitizer "$sanitizer" --target-dir "$target_dir" "$@" >"$build_log" 2>&1; then
        cat "$build_log" >&2
        rm -f "$build_log"
        echo "fuzz: the build failed" >&2
        exit 2
    fi
}
if [ "$#" -gt 0 ]; then
    for t in "${targets[@]}"; do build "$t"; done
else
    build
fi
rm -f "$build_log"
bin="$target_dir/x86_64-unknown-linux-gnu/release"
echo "fuzz: built ${#targets[@]} targets in $((SECONDS - build_start)) s (sanitizer: $sanitizer)"

work="$(mktemp -d "${TMPDIR:-/tmp}/vantage-fuzz.XXXXXX")"
failed=()
for t in "${targets[@]}"; do
    [ -x "$bin/$t" ] || { echo "fuzz: no binary for target $t at $bin/$t" >&2; exit 2; }
    mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
    if [ -d "fuzz/corpus/$t" ]; then
        cp -R "fuzz/corpus/$t/." "$work/$t/corpus/"
    fi
    seeds=$(find "$work/$t/corpus" -type f | wc -l)
    log="$work/$t/log"
    status=0
    # detect_odr_violation=0 as `cargo fuzz run` sets it; -timeout: one
    # input taking longer is a hang, and a failure.
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_odr_violation=0" \
        "$bin/$t" "$work/$t/corpus" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$work/$t/artifacts/" -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$({ grep -o 'cov: [0-9]*' "$log" || true; } | tail -1 | cut -d' ' -f2)
    corpus=$(find "$work/$t/corpus" -type f | wc -l)
    artifacts=$(find "$work/$t/artifacts" -type f | sort)
    if [ "$status" -eq 0 ] && [ -z "$artifacts" ]; then
        printf 'fuzz: %-20s ok: %s execs in %s s, coverage %s, corpus %s -> %s\n' \
            "$t" "${execs:-?}" "$seconds" "${cov:-?}" "$seeds" "$corpus"
        continue
    fi
    failed+=("$t")
    printf 'fuzz: %-20s FAILED (exit %s) after %s execs; libFuzzer said:\n' "$t" "$status" "${execs:-?}"
    { grep -v -E '^#[0-9]+\s+(NEW|REDUCE|pulse|INITED)' "$log" || true; } | tail -60
    for a in $artifacts; do
        echo "--- artifact $a ($(wc -c <"$a") bytes), hex:"
        od -A x -t x1z -v "$a" | head -64
        echo "--- base64:"
        base64 -w 76 "$a" | head -200
        echo "--- reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run $t $a"
        echo "    (or add it to fuzz/corpus/$t/ and to the test that runs that corpus)"
    done
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}; inputs and logs kept in $work" >&2
    exit 1
fi
rm -rf "$work"
echo "fuzz: all ${#targets[@]} targets ran ${seconds} s each without a crash"
