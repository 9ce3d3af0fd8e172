#!/usr/bin/env bash
# setup.sh off Debian: it checks commands instead of dpkg, names exactly the missing ones,
# and passes once they exist. Runs setup.sh with a PATH of stubs and no debian_version.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin"
for tool in bash dirname cat grep id; do ln -s "$(command -v "$tool")" "$tmp/bin/$tool"; done
stub() { for c in "$@"; do printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/$c" && chmod +x "$tmp/bin/$c"; done; }
run() { env -i PATH="$tmp/bin" SETUP_DEBIAN_VERSION_FILE="$tmp/no-debian_version" bash "$here/scripts/setup.sh" apt 2>&1; }
fail() { printf 'FAIL: %s\n%s\n' "$1" "$out" >&2; exit 1; }

# dpkg-query present but not Debian: still the command check (dpkg would call all "missing").
stub dpkg-query docker debootstrap wrk python3.11 gcc git curl rsync initdb pg_ctl
if out=$(run); then fail "passed with jq and shellcheck missing"; fi
missing=$(grep -A1 '^Not a Debian system' <<<"$out" | tail -n 1 | xargs || true)
[ "$missing" = "jq shellcheck" ] || fail "missing should be exactly 'jq shellcheck', got '$missing'"

stub jq shellcheck
out=$(run) || fail "failed although every command is there"
grep -q 'required commands present' <<<"$out" || fail "no success message"
echo "test-setup.sh: OK"
