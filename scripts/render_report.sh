#!/usr/bin/env bash
# Renders a benchmark report.html to a PNG screenshot in headless Chromium: the check that the
# self-contained report displays (tables, inline SVG plots, inlined figures) without a network.
# usage: scripts/render_report.sh REPORT.html OUT.png [WIDTHxHEIGHT]   (default 1280x2400)
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 REPORT.html OUT.png [WIDTHxHEIGHT]" >&2
    exit 2
fi
report=$1
out=$2
size=${3:-1280x2400}
if [ ! -f "$report" ]; then
    echo "$0: no such file: $report" >&2
    exit 1
fi

browser=""
for candidate in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$candidate" >/dev/null 2>&1; then
        browser=$candidate
        break
    fi
done
if [ -z "$browser" ]; then
    echo "$0: no Chromium found (on Debian: apt-get install -y chromium)" >&2
    exit 1
fi

report_abs=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
out_dir=$(cd "$(dirname "$out")" && pwd)
out_abs=$out_dir/$(basename "$out")
# A throwaway profile: a root shell or a CI box may have no usable home directory for Chromium.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

rm -f "$out_abs"
# --no-sandbox: Chromium's sandbox refuses to start as root, which is how containers usually run.
# The resolver rule fails every host name, so the screenshot shows what an offline reader sees.
"$browser" --headless --disable-gpu --no-sandbox --hide-scrollbars --user-data-dir="$profile" \
    --host-resolver-rules="MAP * ~NOTFOUND" \
    --window-size="${size/x/,}" --screenshot="$out_abs" "file://$report_abs" >/dev/null 2>&1 || true
if [ ! -s "$out_abs" ]; then
    echo "$0: $browser wrote no screenshot" >&2
    exit 1
fi
echo "$out_abs"
