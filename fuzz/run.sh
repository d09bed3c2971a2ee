#!/usr/bin/env bash
# Run fuzz targets one after another, each as one libFuzzer job with one
# worker (the machine's cores are shared), for SECONDS each (default 180).
#
#   bash fuzz/run.sh                 # every target, 3 minutes each
#   bash fuzz/run.sh 600 pdf rtf     # these, 10 minutes each
#
# libFuzzer's own log for each is fuzz/logs/<target>/fuzz-0.log; crashes,
# timeouts and OOMs land in fuzz/artifacts/<target>/. Seeds: make_seeds.sh.
set -euo pipefail
FUZZ="$(cd "$(dirname "$0")" && pwd)"
SECONDS_EACH="${1:-180}"
shift || true
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=(message zip ooxml odf pdf sevenz rtf tnef compound); fi
export RUSTC_BOOTSTRAP=1  # cargo fuzz passes -Z flags; this lets stable rustc take them
cargo fuzz build -O --fuzz-dir "$FUZZ"  # -O: see Cargo.toml
for t in "${targets[@]}"; do
    mkdir -p "$FUZZ/logs/$t" "$FUZZ/corpus/$t"
    (cd "$FUZZ/logs/$t" && rm -f fuzz-0.log && cargo fuzz run -O --fuzz-dir "$FUZZ" "$t" -- \
        -jobs=1 -workers=1 -max_total_time="$SECONDS_EACH" \
        -rss_limit_mb=2048 -timeout=10 -max_len=262144 -print_final_stats=1 >run.out 2>&1) || true
    log="$FUZZ/logs/$t/fuzz-0.log"
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    verdict=$(grep -m1 -E '^==[0-9]+== ?ERROR|^==[0-9]+==.*(deadly signal|timeout|out-of-memory)|uncaught panic' "$log" || echo "no finding")
    printf '%-9s %s\n          %s\n' "$t" "$last" "$verdict"
done
