#!/usr/bin/env bash
# Builds the release binary and runs benches/cluster/run.py beside a throwaway PostgreSQL and
# NATS, in a virtual environment with its one dependency (websockets).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked
TARGET="${CARGO_TARGET_DIR:-target}"
VENV="$TARGET/bench-venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check websockets
scripts/with-postgres scripts/with-nats "$VENV/bin/python" benches/cluster/run.py \
  --binary "$TARGET/release/skein" "$@"
