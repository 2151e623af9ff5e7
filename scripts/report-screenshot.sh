#!/usr/bin/env bash
# Renders the HTML report (`vantage verdict --format html`) and saves it,
# with a full-page PNG of it in headless Chromium, so anyone can look at the
# report without a network. Of:
#
# - the report fixtures in tests/data/verdict/ (two vantages, every port
#   rule, waived, expired and unused waivers), by default;
# - with --lab (as root), the lab scenario: tests/it/verdict_lab.rs builds
#   its network namespaces (internet, dmz, corp; 198.18.0.0/15 only), runs
#   `vantage check` from two vantages, and keeps its `verdict --format
#   html` page (VANTAGE_LAB_REPORT); the lab is removed when it ends.
#
#   scripts/report-screenshot.sh [--lab] [OUT.png]   (default: target/report.png;
#                                                     the page beside it, .html)
#
# Needs Debian's chromium (apt-get install chromium) and Node.js; uses
# playwright-core from VANTAGE_PLAYWRIGHT_CORE or node's module path, else
# installs the pinned version into a temporary folder with npm.
set -euo pipefail
cd "$(dirname "$0")/.."
PLAYWRIGHT_VERSION=1.65.1
lab=""
if [ "${1:-}" = "--lab" ]; then
    lab=1
    shift
fi
out="$(realpath -m "${1:-target/report.png}")"
page="${out%.png}.html"
chromium="${VANTAGE_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
    echo "no Chromium at $chromium: apt-get install chromium, or set VANTAGE_CHROMIUM" >&2
    exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --quiet
mkdir -p "$(dirname "$out")"
if [ -n "$lab" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "--lab builds network namespaces: run it as root" >&2
        exit 2
    fi
    rm -f "$page"
    VANTAGE_REQUIRE_LAB=1 VANTAGE_LAB_REPORT="$page" cargo test --quiet --test it \
        verdict_lab::check_from_two_vantages_reports_exactly_the_planted_findings_and_verdict_agrees
    [ -s "$page" ] || { echo "the lab test wrote no report to $page" >&2; exit 1; }
else
    # Exit 1 means findings, which the fixtures have by design.
    status=0
    target/debug/vantage verdict tests/data/verdict/spec.yaml \
        tests/data/verdict/outside.jsonl tests/data/verdict/inside-0.jsonl tests/data/verdict/inside-1.jsonl \
        --now 2026-03-02T08:00:00Z --format html -o "$page" || status=$?
    if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
        echo "vantage verdict failed (exit $status)" >&2
        exit 1
    fi
fi
if [ -z "${VANTAGE_PLAYWRIGHT_CORE:-}" ] && ! node -e 'require.resolve("playwright-core")' 2>/dev/null; then
    npm install --prefix "$work/npm" --no-audit --no-fund --silent "playwright-core@$PLAYWRIGHT_VERSION"
    export VANTAGE_PLAYWRIGHT_CORE="$work/npm/node_modules/playwright-core"
fi
# Two findings opened, to show evidence and the quoted spec line.
VANTAGE_CHROMIUM="$chromium" node scripts/report-browser.cjs "$page" --screenshot "$out" --open 2
echo "report: $page"
echo "screenshot: $out"
