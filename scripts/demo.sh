#!/usr/bin/env bash
# make demo: a coordinator on a temporary data dir, a composition built through
# the 3scale API, three agents wrapping the demo news API, the service map, then
# a clean stop. Needs bin/portolan and bin/newsapi (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./examples/demo --bin bin/portolan --newsapi bin/newsapi
