#!/usr/bin/env bash
# promtool on the controller without a Prometheus server: Debian's `prometheus` package
# is downloaded once (apt-get download) and unpacked into .cache/tools/prometheus; only
# its promtool binary is used. Arguments are passed to promtool.
#   scripts/promtool.sh test rules tests/monitoring/rules/*.test.yml
#   scripts/promtool.sh --path     print the binary's path (after fetching it)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest=$here/.cache/tools/prometheus
bin=$dest/usr/bin/promtool

if [ ! -x "$bin" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "==> fetching Debian's prometheus package for promtool into $dest" >&2
  # _apt cannot write into a root-owned mktemp dir; let it (download stays unprivileged).
  chmod 0777 "$tmp"
  (cd "$tmp" && apt-get download -q prometheus >/dev/null)
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
  # Keep only promtool (the server binary and web assets are not needed here).
  rm -rf "$dest" && mkdir -p "$dest/usr/bin"
  mv "$tmp/x/usr/bin/promtool" "$bin"
fi

if [ "${1:-}" = "--path" ]; then
  echo "$bin"
  exit 0
fi
exec "$bin" "$@"
