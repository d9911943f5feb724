#!/usr/bin/env bash
# `glimpse bench` runs every measurement on the demo model pair and reports
# each with its unit (and a roofline where it has one) as JSON; bad usage
# exits 2. Only that it runs and what it reports are checked: the numbers
# are a benchmark's (docs/PERF.md), never a test's.
set -u
glimpse="$1"
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }

json=$("$glimpse" bench -m assets/demo-text.gguf --mmproj assets/demo-mmproj.gguf -r 2 -t 2 --json); rc=$?
check "bench exits 0" '[ $rc -eq 0 ]'
for name in "image decode + preprocess" "vision encode per tile" "prompt processing" "decode" "describe (64 new tokens)"; do
  check "reports $name" '[[ "$json" == *"\"name\":\"$name\""* ]]'
done
check "decode has a roofline" '[[ "$json" == *"\"name\":\"decode\",\"unit\":\"tokens/s\",\"median\":"*"\"percent_of_roofline\""* ]]'
check "machine probed" '[[ "$json" == *"\"read_gb_s\":"* && "$json" == *"\"int8_gops\":"* && "$json" == *"\"threads\":2"* ]]'
check "two runs each" '[[ "$json" == *"\"n\":2"* ]]'
if command -v python3 > /dev/null; then
  check "json parses" 'printf "%s" "$json" | python3 -c "import json,sys; json.load(sys.stdin)"'
fi

"$glimpse" bench > /dev/null 2>&1; rc=$?
check "no model is a usage error" '[ $rc -eq 2 ]'
"$glimpse" bench -m assets --bogus > /dev/null 2>&1; rc=$?
check "unknown option is a usage error" '[ $rc -eq 2 ]'
err=$("$glimpse" bench -m /nonexistent 2>&1 >/dev/null); rc=$?
check "missing model exits 1 with its name" '[ $rc -eq 1 ] && [[ "$err" == *"/nonexistent"* ]]'
exit $fail
