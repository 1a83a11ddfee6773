#!/usr/bin/env bash
# Skein's search next to raw tantivy (Python binding), LanceDB and SQLite FTS5 on the same
# corpus: builds the release binary, installs the peers in a venv, runs run.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked --quiet
TARGET="${CARGO_TARGET_DIR:-target}"
VENV="${SKEIN_PEERS_VENV:-$TARGET/peers-venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r benches/peers/requirements.txt
exec "$VENV/bin/python" benches/peers/run.py --binary "$TARGET/release/skein" "$@"
