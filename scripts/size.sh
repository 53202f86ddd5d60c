#!/usr/bin/env bash
# make size: what the agent costs where it runs, in both builds (README "Two
# builds"). Prints the stripped binaries' sizes, the dependency-size report
# of tools/size for each (bytes of code and data per module and package,
# from the symbols of the same build unstripped), the bytes allocated by
# package init (GODEBUG=inittrace=1), and the idle memory of agents phoning
# home with their gateway on (management proxy off): Rss, Pss and
# private/shared pages of one agent of the agent build, of one of the full
# build beside it, and the mean Pss of $AGENTS agents of the agent build on
# this host, read from /proc/PID/smaps_rollup after $IDLE seconds idle.
# Needs bin/portolan, bin/portolan-agent and bin/newsapi (make build).
# Environment: BIN (the full build, which runs home), AGENT_BIN, AGENTS
# (50), IDLE (5 s), TOP (25 rows), SIZE_PORT (27100: the first port tried),
# KEEP (keep the work dir and its logs), AGENT_ENV (environment of the
# agents, e.g. GOGC=50 or GODEBUG=gctrace=1).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-bin/portolan}
AGENT_BIN=${AGENT_BIN:-bin/portolan-agent}
AGENTS=${AGENTS:-50}
IDLE=${IDLE:-5}
TOP=${TOP:-25}
GO_TAGS=${GO_TAGS:-urfave_cli_no_docs}

work=$(mktemp -d)
pids=()
cleanup() { # agents first, home last, so that they deregister
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; wait "${pids[$i]}" 2>/dev/null || true; done
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN{printf "%d bytes (%.1f MB)", b, b/1e6}'; }

echo "== binaries (stripped)"
echo "$AGENT_BIN (agent build): $(mb "$AGENT_BIN")"
echo "$BIN (full build): $(mb "$BIN")"
for build in "agent:$GO_TAGS,agentonly:$AGENT_BIN" "full:$GO_TAGS:$BIN"; do
	IFS=: read -r name tags bin <<<"$build"
	echo
	echo "== $name build: weight by module and package"
	CGO_ENABLED=0 go build -trimpath -tags "$tags" -o "$work/$name.syms" ./cmd/portolan
	go run ./tools/size -top "$TOP" "$work/$name.syms"
	echo
	echo "== $name build: package init (GODEBUG=inittrace=1 $bin --version), heaviest by bytes allocated"
	GODEBUG=inittrace=1 "$bin" --version 2>&1 >/dev/null | awk '$1=="init"' | sort -k8,8nr | sed -n 1,8p
	GODEBUG=inittrace=1 "$bin" --version 2>&1 >/dev/null | awk '$1=="init"{ms+=$5; by+=$8; n++} END{printf "total: %d packages, %.2f ms, %d bytes allocated\n", n, ms, by}'
done

# Free loopback ports from $SIZE_PORT on: home's, then an app's and a
# gateway's per agent.
port=${SIZE_PORT:-27100}
ports=()
while [ "${#ports[@]}" -lt $((AGENTS * 2 + 3)) ]; do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || ports+=("$port")
	port=$((port + 1))
done

rollup() { # pid field → kB
	awk -v f="$2:" '$1==f{print $2}' "/proc/$1/smaps_rollup"
}

home=127.0.0.1:${ports[0]}
"$BIN" --log-level warn coordinator --listen "$home" --data-dir "$work/home" --tls off \
	--access-token size-access --agent-token size-agent >"$work/home.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fsS "http://$home/health/live" >/dev/null 2>&1 && break; sleep 0.1; done
# The news API the agents serve, imported from its OpenAPI spec, so that
# each agent is placed and its gateway holds a composition, as in production.
"$BIN" import openapi examples/newsapi/openapi.yaml --service news --home "http://$home" --token size-access >/dev/null

agent_pids=()
start_agent() { # index [binary]
	local i=$1 bin=${2:-$AGENT_BIN} app gw
	app=${ports[$((1 + 2 * i))]} gw=${ports[$((2 + 2 * i))]}
	env ${AGENT_ENV:-} "$bin" --log-level warn agent --home "http://$home" --token size-agent --service news \
		--address 127.0.0.1 --port "$app" --api off --cache-dir "$work/a$i" \
		--placement-file "$work/a$i.placement.json" --gateway-listen "127.0.0.1:$gw" \
		--upstream "http://127.0.0.1:$app" -- bin/newsapi --listen "127.0.0.1:$app" --name "a$i" \
		>"$work/a$i.log" 2>&1 &
	pids+=($!)
	agent_pids+=($!)
}

report() { # label pid...
	local label=$1; shift
	local rss=0 pss=0 shared=0 private=0 anon=0 n=0
	for p in "$@"; do
		rss=$((rss + $(rollup "$p" Rss)))
		pss=$((pss + $(rollup "$p" Pss)))
		shared=$((shared + $(rollup "$p" Shared_Clean) + $(rollup "$p" Shared_Dirty)))
		private=$((private + $(rollup "$p" Private_Clean) + $(rollup "$p" Private_Dirty)))
		anon=$((anon + $(rollup "$p" Anonymous)))
		n=$((n + 1))
	done
	awk -v l="$label" -v n="$n" -v r="$rss" -v p="$pss" -v s="$shared" -v v="$private" -v a="$anon" 'BEGIN{
		printf "%s (mean of %d, MiB): Rss %.1f  Pss %.1f  Shared %.1f  Private %.1f  Anonymous %.1f\n", l, n, r/n/1024, p/n/1024, s/n/1024, v/n/1024, a/n/1024}'
}

echo
echo "== idle agent (gateway on, management proxy off, phoning home), after ${IDLE}s"
start_agent 0
start_agent "$AGENTS" "$BIN" # the full build's, beside it: the baseline
sleep "$IDLE"
report "1 agent, agent build" "${agent_pids[0]}"
grep -E '^(Rss|Pss|Shared_Clean|Shared_Dirty|Private_Clean|Private_Dirty|Anonymous):' "/proc/${agent_pids[0]}/smaps_rollup" | tr -s ' ' | paste -sd' '
report "1 agent, full build" "${agent_pids[1]}"
kill "${agent_pids[1]}"
wait "${agent_pids[1]}" 2>/dev/null || true
agent_pids=("${agent_pids[0]}")

if [ "$AGENTS" -gt 1 ]; then
	for i in $(seq 1 $((AGENTS - 1))); do start_agent "$i"; done
	sleep "$IDLE"
	report "$AGENTS agents, agent build" "${agent_pids[@]}"
fi
