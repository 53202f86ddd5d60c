#!/usr/bin/env bash
# make demo: a coordinator on a temporary data dir, the news API imported from
# its OpenAPI spec, an agent whose image brings the API's plans and limits
# (examples/newsapi/portolan), a consumer added through the 3scale API,
# three agents wrapping the demo news API with their gateways, the service map,
# the consumer's calls through a gateway (200 until the plan's 5 hits a minute,
# then 429) and the usage at home, then a clean stop. The agents run the
# agent build, as app images do. Needs bin/portolan, bin/portolan-agent and
# bin/newsapi (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./examples/demo --bin bin/portolan --agent-bin bin/portolan-agent --newsapi bin/newsapi --spec examples/newsapi/openapi.yaml --composition examples/newsapi/portolan
