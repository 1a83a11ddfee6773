#!/usr/bin/env bash
# Memory after indexing: seeds a data dir with the Cranfield-derived corpus, starts the server
# on it, waits until both legs of the search index are built (`/healthz`: search ready, vectors
# complete), waits 10 s more, and prints the server's RSS next to the data dir's size.
#
#   benches/index_memory.sh [--binary PATH] [--messages N]
#
# The goal of the performance issue: RSS ≤ 300 MB at 100k messages.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${CARGO_TARGET_DIR:-target}/release/skein"
messages=100000
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --messages) messages="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -x "$binary" ] || { echo "no server binary at $binary (cargo build --release)" >&2; exit 2; }

dir="$(mktemp -d)"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

# Starts the server on a port of its choosing and sets `addr` from its log.
serve() {
  : >"$dir/server.log"
  "$binary" serve --data-dir "$dir/data" --addr 127.0.0.1:0 >>"$dir/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    addr=$(grep -o 'serving addr=[0-9.:]*' "$dir/server.log" | head -n 1 | cut -d= -f2 || true)
    [ -n "$addr" ] && curl -sf "$addr/healthz" >/dev/null && return 0
    sleep 0.1
  done
  echo "the server did not start; its log:" >&2
  cat "$dir/server.log" >&2
  exit 1
}

# The first start creates the data dir (and its admin), which `bench seed` fills.
serve
kill "$server"; wait "$server" 2>/dev/null || true; server=""
"$binary" bench seed --data-dir "$dir/data" --messages "$messages" --corpus tests/data/cranfield >/dev/null

serve
started=$(date +%s)
until curl -sf "$addr/healthz" | grep -q '"state":"ready"' &&
  curl -sf "$addr/healthz" | grep -q '"complete":true'; do
  if [ $(($(date +%s) - started)) -gt 600 ]; then
    echo "the index was not built within 10 minutes" >&2
    exit 1
  fi
  sleep 1
done
indexed=$(($(date +%s) - started))
sleep 10
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status")
data_kb=$(du -sk "$dir/data" | cut -f1)
awk -v m="$messages" -v s="$indexed" -v r="$rss_kb" -v d="$data_kb" 'BEGIN {
  printf "%d messages indexed in ~%d s; 10 s later: RSS %.0f MiB, data dir %.0f MiB, ratio %.2f\n",
    m, s, r / 1024, d / 1024, r / d
}'
