#!/usr/bin/env bash
# Install everything (see install.sh) and run the test suite. Extra arguments go to pytest,
# e.g. `bash scripts/test.sh -m slow` for the slow tests only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest "$@"
