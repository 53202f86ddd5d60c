#!/usr/bin/env bash
# make demo: a coordinator on a temporary data dir, a composition built through
# the 3scale API, printed, then a clean stop. Needs bin/portolan (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./examples/demo --bin bin/portolan
