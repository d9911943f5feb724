# Sourced by the tests/cli_*.sh tests (named lib_ so the test glob skips it): the glimpse binary ($1), a check
# helper that records failures, the fixture folders, and a scratch folder
# removed on exit. A test ends with `exit $fail`.
set -u
glimpse="$1"
build="${2:-}"
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
F=tests/fixtures/e2e
I=tests/fixtures/images
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
