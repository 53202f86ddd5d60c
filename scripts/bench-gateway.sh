#!/usr/bin/env bash
# make bench-gateway: requests/s and p50/p99 latency, side by side in one run
# on loopback, of
#   (a) the upstream directly (bin/newsapi, GET /health);
#   (b) nginx proxy_pass to it (keep-alive upstream pool);
#   (c) Go's httputil.ReverseProxy (internal/benchproxy);
#   (d) the Portolan gateway in an agent, with auth (user_key), a mapping rule
#       and a usage limit on (a coordinator + an agent; the limit is high
#       enough that nothing is refused);
#   (e) nginx proxy_pass with the equivalent of (f)'s policies: CORS headers
#       (add_header), a request header set from $host (proxy_set_header), a
#       response header, and allow 127.0.0.1 / deny all;
#   (f) the Portolan gateway as (d), with the policy chain cors, headers and
#       ip_check (whitelist 127.0.0.1) before apicast.
# Each is measured with `wrk -t2 -c32 -d10s --latency`, three rounds
# interleaved (a b c d e f, then f e d c b a, ...), after a 2 s warm-up; the
# medians are printed with the ratios (d)/(b) and (f)/(e), and each round's.
# wrk and nginx are installed with apt-get when absent. Everything runs as
# the current user in a temp dir, and is stopped on exit.
#
# Environment: BENCH_PORT (first of 9 consecutive loopback ports, default
# 18080), BENCH_DURATION (default 10s), BENCH_ROUNDS (default 3),
# BENCH_CONNECTIONS (default 32), BENCH_THREADS (default 2), BENCH_AGENT_ENV
# (environment for the agent only, e.g. GOGC=400, to try runtime settings),
# BENCH_BASE_BIN (a baseline build of portolan, run as targets (d0) and (f0)
# beside (d) and (f)),
# BENCH_BARE=1 (adds target (c2): the gateway's HTTP/1.1 loop and forwarder
# alone, `benchproxy --lean`, which splits (d)'s distance to (b) into what the
# gateway's I/O costs and what its work costs),
# BENCH_AGENT_FLAGS (more agent flags, e.g. --cache-dir= to keep usage in memory),
# BENCH_AGENT_BIN (the portolan binary the agent runs, to compare two builds in
# one sitting; default bin/portolan-agent, the agent build app images carry),
# BENCH_COUNT_ONLY=1 (no throughput:
# system calls, context switches and CPU per request of each target, by perf).
#
# Besides requests/s and latency, each target's own CPU time per request is
# printed (user + system, from /proc, nginx's workers included): unlike
# requests/s on a shared 2-CPU machine, it moves little with the load. Each
# round's line also gives the target's user-space part, and what the
# upstream and wrk spent a request over the same run (the three share the
# two CPUs, so throughput follows their sum).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${BENCH_PORT:-18080}
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
UP=$PORT NGINX=$((PORT + 1)) GOPROXY_PORT=$((PORT + 2)) GW=$((PORT + 3)) HOME_PORT=$((PORT + 4)) API=$((PORT + 5))
NGINX_POLICIES=$((PORT + 6)) GW_CHAIN=$((PORT + 7)) API_CHAIN=$((PORT + 8))
KEY=bench0123456789abcdef0123456789ab
PATH_Q="/health?user_key=$KEY"

need() { # need CMD PACKAGE...: install the packages when CMD is absent
	local cmd=$1
	shift
	command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] && return 0
	echo "==> installing $* (for $cmd)"
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	$sudo apt-get install -y "$@" >/dev/null || { $sudo apt-get update >/dev/null && $sudo apt-get install -y "$@" >/dev/null; }
}
need wrk wrk
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
	need nginx nginx-light || need nginx nginx
fi
NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)

for p in $UP $NGINX $GOPROXY_PORT $GW $HOME_PORT $API $NGINX_POLICIES $GW_CHAIN $API_CHAIN; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		echo "port $p is in use; set BENCH_PORT to a free range of 9 ports" >&2
		exit 1
	fi
done

[ -x bin/portolan ] && [ -x bin/portolan-agent ] && [ -x bin/newsapi ] || make build
TMP=$(mktemp -d -t portolan-bench-XXXXXX)
go build -o "$TMP/benchproxy" ./internal/benchproxy

PIDS=()
declare -a TARGET_PID
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

wait_http() { # wait_http URL: until it answers at all
	for _ in $(seq 1 200); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.05
	done
	echo "no answer from $1" >&2
	exit 1
}

# (a) the upstream
bin/newsapi --listen "127.0.0.1:$UP" --name bench >"$TMP/newsapi.log" 2>&1 &
PIDS+=($!)
TARGET_PID[0]=$!
wait_http "http://127.0.0.1:$UP/health"

# (b) nginx, in the foreground of its own temp prefix
mkdir -p "$TMP/nginx/logs"
USER_LINE=""
[ "$(id -u)" -eq 0 ] && USER_LINE="user root;"
cat >"$TMP/nginx/nginx.conf" <<EOF
$USER_LINE
worker_processes auto;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fastcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	upstream app {
		server 127.0.0.1:$UP;
		keepalive 64;
	}
	server {
		listen 127.0.0.1:$NGINX;
		location / {
			proxy_pass http://app;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
		}
	}
	# (e): what (f)'s chain does, in nginx's directives
	server {
		listen 127.0.0.1:$NGINX_POLICIES;
		location / {
			allow 127.0.0.1;
			deny all;
			add_header Access-Control-Allow-Origin "*" always;
			add_header Access-Control-Allow-Methods "GET, POST, PUT, DELETE" always;
			add_header Access-Control-Allow-Headers "Content-Type, Authorization" always;
			add_header Access-Control-Allow-Credentials "true" always;
			add_header X-Gateway "portolan-bench" always;
			proxy_pass http://app;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
			proxy_set_header X-Request-Host \$host;
		}
	}
}
EOF
"$NGINX_BIN" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" &
PIDS+=($!)
TARGET_PID[1]=$!
TARGET_PID[4]=$!
wait_http "http://127.0.0.1:$NGINX/health"

# (c) httputil.ReverseProxy
"$TMP/benchproxy" --listen "127.0.0.1:$GOPROXY_PORT" --upstream "http://127.0.0.1:$UP" 2>"$TMP/benchproxy.log" &
PIDS+=($!)
TARGET_PID[2]=$!
wait_http "http://127.0.0.1:$GOPROXY_PORT/health"

# (d) a coordinator and an agent with the gateway
ADMIN=bench-admin-token AGENT=bench-agent-token
bin/portolan --log-level warn coordinator --listen "127.0.0.1:$HOME_PORT" --data-dir "$TMP/home" \
	--access-token "$ADMIN" --agent-token "$AGENT" >"$TMP/coordinator.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$HOME_PORT/metrics"
post() { # post PATH FORM: the first "id" of the answer
	curl -sf -u ":$ADMIN" -X POST --data "$2" "http://127.0.0.1:$HOME_PORT$1" | sed -n 's/^[^0-9]*"id":\([0-9]*\).*/\1/p'
}
SID=$(post /admin/api/services.json "name=Bench&system_name=bench&backend_version=1")
HITS=$(curl -sf -u ":$ADMIN" "http://127.0.0.1:$HOME_PORT/admin/api/services/$SID/metrics.json" | sed -n 's/^[^0-9]*"id":\([0-9]*\).*/\1/p')
post "/admin/api/services/$SID/proxy/mapping_rules.json" "http_method=GET&pattern=/&delta=1&metric_id=$HITS" >/dev/null
PLAN=$(post "/admin/api/services/$SID/application_plans.json" "name=Bench")
post "/admin/api/application_plans/$PLAN/metrics/$HITS/limits.json" "period=minute&value=1000000000000" >/dev/null
ACCT=$(post /admin/api/signup.json "org_name=Bench&username=bench&email=bench@example.com&password=bench-pass-123")
post "/admin/api/accounts/$ACCT/applications.json" "name=bench&plan_id=$PLAN&user_key=$KEY" >/dev/null
# start_agent SERVICE GATEWAY_PORT API_PORT [BINARY]: an agent fronting the
# upstream for SERVICE; prints its pid.
start_agent() {
	local bin=${4:-${BENCH_AGENT_BIN:-bin/portolan-agent}}
	env ${BENCH_AGENT_ENV:-} "$bin" --log-level warn agent --home "http://127.0.0.1:$HOME_PORT" --token "$AGENT" --service "$1" \
		--address 127.0.0.1 --port "$UP" --api "127.0.0.1:$3" --cache-dir "$TMP/cache-$2" --placement-file "$TMP/placement-$2.json" \
		--gateway-listen "127.0.0.1:$2" --upstream "http://127.0.0.1:$UP" ${BENCH_AGENT_FLAGS:-} -- sleep 100000 >"$TMP/agent-$1-$2.log" 2>&1 &
	echo $!
}
wait_200() { # wait_200 URL SERVICE
	for _ in $(seq 1 200); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
		sleep 0.05
	done
	echo "the gateway of $2 does not answer 200:" >&2
	cat "$TMP"/agent-"$2"-*.log >&2
	exit 1
}
TARGET_PID[3]=$(start_agent bench "$GW" "$API")
PIDS+=("${TARGET_PID[3]}")
wait_200 "http://127.0.0.1:$GW$PATH_Q" bench

# (f) a second service, the same but for its policy chain
SID2=$(post /admin/api/services.json "name=Chain&system_name=chain&backend_version=1")
HITS2=$(curl -sf -u ":$ADMIN" "http://127.0.0.1:$HOME_PORT/admin/api/services/$SID2/metrics.json" | sed -n 's/^[^0-9]*"id":\([0-9]*\).*/\1/p')
post "/admin/api/services/$SID2/proxy/mapping_rules.json" "http_method=GET&pattern=/&delta=1&metric_id=$HITS2" >/dev/null
PLAN2=$(post "/admin/api/services/$SID2/application_plans.json" "name=Bench")
post "/admin/api/application_plans/$PLAN2/metrics/$HITS2/limits.json" "period=minute&value=1000000000000" >/dev/null
post "/admin/api/accounts/$ACCT/applications.json" "name=chain&plan_id=$PLAN2&user_key=${KEY}2" >/dev/null
curl -sf -u ":$ADMIN" -X PUT -H 'Content-Type: application/json' "http://127.0.0.1:$HOME_PORT/admin/api/services/$SID2/proxy/policies.json" --data '{"policies_config":[
	{"name":"cors","version":"builtin","enabled":true,"configuration":{"allow_origin":"*","allow_methods":["GET","POST","PUT","DELETE"],
		"allow_headers":["Content-Type","Authorization"],"allow_credentials":true}},
	{"name":"headers","version":"builtin","enabled":true,"configuration":{
		"request":[{"op":"set","header":"X-Request-Host","value":"{{host}}","value_type":"liquid"}],
		"response":[{"op":"set","header":"X-Gateway","value":"portolan-bench","value_type":"plain"}]}},
	{"name":"ip_check","version":"builtin","enabled":true,"configuration":{"check_type":"whitelist","ips":["127.0.0.1/32"]}},
	{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]}' >/dev/null
PATH_Q2="/health?user_key=${KEY}2"
TARGET_PID[5]=$(start_agent chain "$GW_CHAIN" "$API_CHAIN")
PIDS+=("${TARGET_PID[5]}")
wait_200 "http://127.0.0.1:$GW_CHAIN$PATH_Q2" chain
[ -n "$(curl -s -D - -o /dev/null -H 'Origin: https://example.com' "http://127.0.0.1:$GW_CHAIN$PATH_Q2" | grep -i '^x-gateway: portolan-bench')" ] || {
	echo "the chain's gateway does not run its headers policy" >&2
	exit 1
}

NAMES=(a b c d e f)
LABELS=("(a) upstream directly" "(b) nginx proxy_pass" "(c) Go httputil.ReverseProxy" "(d) Portolan gateway (auth, mapping, limits)"
	"(e) nginx + add_header, allow/deny" "(f) gateway + cors, headers, ip_check")
URLS=("http://127.0.0.1:$UP$PATH_Q" "http://127.0.0.1:$NGINX$PATH_Q" "http://127.0.0.1:$GOPROXY_PORT$PATH_Q" "http://127.0.0.1:$GW$PATH_Q"
	"http://127.0.0.1:$NGINX_POLICIES$PATH_Q" "http://127.0.0.1:$GW_CHAIN$PATH_Q2")
# The CORS targets are asked as a browser asks: with an Origin.
HEADERS=("" "" "" "" "Origin: https://example.com" "Origin: https://example.com")

# (d0) and (f0) with BENCH_BASE_BIN: (d) and (f) again, their agents running
# another build (the baseline), measured in the same rounds.
if [ -n "${BENCH_BASE_BIN:-}" ]; then
	GW_BASE=$((PORT + 12)) API_BASE=$((PORT + 13))
	TARGET_PID[6]=$(start_agent bench "$GW_BASE" "$API_BASE" "$BENCH_BASE_BIN")
	PIDS+=("${TARGET_PID[6]}")
	wait_200 "http://127.0.0.1:$GW_BASE$PATH_Q" bench
	NAMES+=(d0)
	LABELS+=("(d0) as (d), baseline build")
	URLS+=("http://127.0.0.1:$GW_BASE$PATH_Q")
	HEADERS+=("")
	GW_CHAIN_BASE=$((PORT + 15)) API_CHAIN_BASE=$((PORT + 16))
	TARGET_PID[7]=$(start_agent chain "$GW_CHAIN_BASE" "$API_CHAIN_BASE" "$BENCH_BASE_BIN")
	PIDS+=("${TARGET_PID[7]}")
	wait_200 "http://127.0.0.1:$GW_CHAIN_BASE$PATH_Q2" chain
	NAMES+=(f0)
	LABELS+=("(f0) as (f), baseline build")
	URLS+=("http://127.0.0.1:$GW_CHAIN_BASE$PATH_Q2")
	HEADERS+=("Origin: https://example.com")
fi

# (c2) with BENCH_BARE=1: the gateway's lean loop and forwarder, no gateway work
if [ "${BENCH_BARE:-0}" = 1 ]; then
	BARE_PORT=$((PORT + 14))
	"$TMP/benchproxy" --lean --listen "127.0.0.1:$BARE_PORT" --upstream "http://127.0.0.1:$UP" 2>"$TMP/benchproxy-lean.log" &
	PIDS+=($!)
	TARGET_PID[${#NAMES[@]}]=$!
	wait_http "http://127.0.0.1:$BARE_PORT/health"
	NAMES+=(c2)
	LABELS+=("(c2) gateway's loop + forwarder, no work")
	URLS+=("http://127.0.0.1:$BARE_PORT$PATH_Q")
	HEADERS+=("")
fi

# cpu_ticks PID [user]: user + system CPU ticks of PID and its children's
# live processes (nginx's workers): what a target itself spends, whatever
# the load; with "user", its user-space ticks only.
cpu_ticks() {
	local total=0 p expr='$12 + $13'
	[ "${2:-}" = user ] && expr='$12'
	for p in "$1" $(pgrep -P "$1" || true); do
		[ -r "/proc/$p/stat" ] || continue
		total=$((total + $(awk "{ sub(/^.*\\) /, \"\"); print $expr }" "/proc/$p/stat")))
	done
	echo "$total"
}
HZ=$(getconf CLK_TCK)

# children_us VAR: sets VAR to the user + system CPU of this shell's reaped
# children (wrk), in µs. times runs in this shell, not in a subshell, whose
# children are its own.
children_us() {
	times >"$TMP/times"
	printf -v "$1" '%s' "$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60 + a[2] } printf "%.0f", t * 1e6 }' "$TMP/times")"
}

# to_us VALUE: wrk's "1.23ms" / "456.00us" / "1.2s" in microseconds
to_us() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") f = 1; else if (u == "ms") f = 1000; else if (u == "s") f = 1000000; else f = 1
		printf "%.0f", n * f }'
}
wrk_run() { # wrk_run I ARGS...: wrk against target I with its header
	local i=$1
	shift
	if [ -n "${HEADERS[$i]}" ]; then
		wrk -H "${HEADERS[$i]}" "$@" "${URLS[$i]}"
	else
		wrk "$@" "${URLS[$i]}"
	fi
}
# busy_percent: how much of the machine's CPU was in use over one second,
# before any load, by everything but the processes this script started
# (which may still be starting up): another process's load lowers every
# figure, unevenly, since the two CPUs are shared by wrk, the upstream and
# a target.
ours_ticks() {
	local t=0 p
	for p in "${PIDS[@]}"; do t=$((t + $(cpu_ticks "$p"))); done
	echo "$t"
}
busy_percent() {
	local a b oa ob
	a=($(head -1 /proc/stat))
	oa=$(ours_ticks)
	sleep 1
	b=($(head -1 /proc/stat))
	ob=$(ours_ticks)
	awk -v u="$((b[1] + b[2] + b[3] + b[6] + b[7] + b[8] - a[1] - a[2] - a[3] - a[6] - a[7] - a[8] - (ob - oa)))" \
		-v i="$((b[4] + b[5] - a[4] - a[5]))" 'BEGIN { if (u < 0) u = 0; printf "%.0f", ((u + i) > 0 ? 100 * u / (u + i) : 0) }'
}
busy=$(busy_percent)
if [ "$busy" -gt 10 ]; then
	echo "warning: the machine is ${busy}% busy before the benchmark starts; figures will be low and uneven. Busiest processes:" >&2
	ps -eo pid,pcpu,etime,comm --sort=-pcpu | head -4 >&2 || true
fi
for i in "${!NAMES[@]}"; do
	wrk_run "$i" -t"$THREADS" -c"$CONNS" -d2s >/dev/null
done
# BENCH_COUNT_ONLY=1: instead of throughput, what each target spends per
# request, which a loaded machine hardly changes: system calls by kind,
# context switches and CPU time, counted by `perf stat` on the target's
# processes (tracepoints: no ptrace slowdown, unlike strace) over one wrk run
# of BENCH_DURATION. Needs perf (Debian's linux-perf) and kernel tracepoints.
if [ "${BENCH_COUNT_ONLY:-0}" = 1 ]; then
	need perf linux-perf
	EVENTS=raw_syscalls:sys_enter,context-switches,task-clock
	for s in read write writev recvfrom futex nanosleep epoll_wait epoll_pwait getsockopt setsockopt sched_yield; do
		EVENTS=$EVENTS,syscalls:sys_enter_$s
	done
	echo "==> per request, over wrk -t$THREADS -c$CONNS -d$DURATION (perf stat on each target's processes)"
	for i in "${!NAMES[@]}"; do
		pids=$(echo "${TARGET_PID[$i]}" $(pgrep -P "${TARGET_PID[$i]}" || true) | tr ' ' ,)
		perf stat -x, -e "$EVENTS" -p "$pids" -o "$TMP/perf-$i" &
		perf_pid=$!
		sleep 0.5
		out=$(wrk_run "$i" -t"$THREADS" -c"$CONNS" -d"$DURATION")
		kill -INT "$perf_pid"
		wait "$perf_pid" || true
		reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
		awk -F, -v n="$reqs" -v l="${LABELS[$i]}" '
			$3 ~ /task-clock/ { cpu = $1 * 1000 / n }
			$3 ~ /raw_syscalls/ { sys = $1 / n }
			$3 ~ /context-switches/ { cs = $1 / n }
			$3 ~ /sys_enter_/ && $1 + 0 > 0 { k = $3; sub(/.*sys_enter_/, "", k); kinds = kinds sprintf(" %s %.2f", k, $1 / n) }
			END { printf "%-46s %5.2f syscalls (%s ), %.2f context switches, %.1f µs CPU\n", l, sys, substr(kinds, 2), cs, cpu }' "$TMP/perf-$i"
	done
	exit 0
fi
echo "==> wrk -t$THREADS -c$CONNS -d$DURATION --latency, $ROUNDS rounds interleaved, GET $PATH_Q ($(nproc) CPUs: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1))"
# Odd rounds run the targets in order, even rounds in reverse (a b c …, then
# … c b a): the machine's speed drifts within a run (by up to 40 % here), and
# a fixed order would give the targets measured later a drift's worth of
# advantage in every ratio; the serpentine cancels a steady drift.
ORDER=("${!NAMES[@]}")
REVERSED=()
for ((k = ${#ORDER[@]} - 1; k >= 0; k--)); do REVERSED+=("${ORDER[$k]}"); done
for r in $(seq 1 "$ROUNDS"); do
	if ((r % 2)); then order=("${ORDER[@]}"); else order=("${REVERSED[@]}"); fi
	for i in "${order[@]}"; do
		before=$(cpu_ticks "${TARGET_PID[$i]}") ubefore=$(cpu_ticks "${TARGET_PID[$i]}" user) upbefore=$(cpu_ticks "${TARGET_PID[0]}")
		children_us wrkbefore
		out=$(wrk_run "$i" -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency)
		children_us wrkafter
		after=$(cpu_ticks "${TARGET_PID[$i]}") uafter=$(cpu_ticks "${TARGET_PID[$i]}" user) upafter=$(cpu_ticks "${TARGET_PID[0]}")
		rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
		reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
		cpu=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$reqs" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
		ucpu=$(awk -v t=$((uafter - ubefore)) -v hz="$HZ" -v n="$reqs" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
		upcpu=$(awk -v t=$((upafter - upbefore)) -v hz="$HZ" -v n="$reqs" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
		wrkcpu=$(awk -v t=$((wrkafter - wrkbefore)) -v n="$reqs" 'BEGIN { printf "%.1f", t / n }')
		p50=$(to_us "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
		p99=$(to_us "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
		non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
		if [ -n "$non2xx" ]; then
			echo "${LABELS[$i]}: $non2xx answers were not 2xx" >&2
			exit 1
		fi
		echo "round $r ${NAMES[$i]}: $rps req/s p50 ${p50}us p99 ${p99}us, ${cpu}us CPU/request (${ucpu}us in user space; the upstream ${upcpu}us, wrk ${wrkcpu}us)"
		echo "${NAMES[$i]} $rps $p50 $p99 $cpu $r" >>"$TMP/results"
	done
done

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
printf '%-46s %12s %10s %10s %14s\n' "medians" "requests/s" "p50 (µs)" "p99 (µs)" "CPU/req (µs)"
declare -A RPS CPU
for i in "${!NAMES[@]}"; do
	n=${NAMES[$i]}
	RPS[$n]=$(awk -v n="$n" '$1 == n { print $2 }' "$TMP/results" | median)
	p50=$(awk -v n="$n" '$1 == n { print $3 }' "$TMP/results" | median)
	p99=$(awk -v n="$n" '$1 == n { print $4 }' "$TMP/results" | median)
	CPU[$n]=$(awk -v n="$n" '$1 == n { print $5 }' "$TMP/results" | median)
	printf '%-46s %12s %10s %10s %14s\n' "${LABELS[$i]}" "${RPS[$n]}" "$p50" "$p99" "${CPU[$n]}"
done
awk -v d="${RPS[d]}" -v b="${RPS[b]}" -v c="${RPS[c]}" -v cd="${CPU[d]}" -v cb="${CPU[b]}" \
	-v e="${RPS[e]}" -v f="${RPS[f]}" -v ce="${CPU[e]}" -v cf="${CPU[f]}" 'BEGIN {
	printf "\n(d)/(b) = %.2f (target >= 1.0)   (d)/(c) = %.2f   CPU per request (d)/(b) = %.2f\n", d / b, d / c, cd / cb
	printf "(f)/(e) = %.2f (target >= 0.9)   CPU per request (f)/(e) = %.2f\n", f / e, cf / ce }'
# per_round A B: the ratio A/B of each round's requests/s, in round order
per_round() {
	awk -v a="$1" -v b="$2" '$1 == a { x[$6] = $2 } $1 == b { y[$6] = $2 }
		END { for (r = 1; r in x; r++) printf "%s%.2f", (r > 1 ? " " : ""), x[r] / y[r] }' "$TMP/results"
}
echo "per round: (d)/(b) $(per_round d b); (f)/(e) $(per_round f e)"
if [ -n "${BENCH_BASE_BIN:-}" ]; then
	awk -v d="${RPS[d]}" -v d0="${RPS[d0]}" -v cd="${CPU[d]}" -v cd0="${CPU[d0]}" -v b="${RPS[b]}" \
		-v f="${RPS[f]}" -v f0="${RPS[f0]}" -v cf="${CPU[f]}" -v cf0="${CPU[f0]}" -v e="${RPS[e]}" 'BEGIN {
	printf "(d)/(d0) = %.2f   (d0)/(b) = %.2f   CPU per request (d)/(d0) = %.2f\n", d / d0, d0 / b, cd / cd0
	printf "(f)/(f0) = %.2f   (f0)/(e) = %.2f   CPU per request (f)/(f0) = %.2f\n", f / f0, f0 / e, cf / cf0 }'
fi
if [ "${BENCH_BARE:-0}" = 1 ]; then
	awk -v d="${RPS[d]}" -v c2="${RPS[c2]}" -v cd="${CPU[d]}" -v cc2="${CPU[c2]}" -v b="${RPS[b]}" -v cb="${CPU[b]}" 'BEGIN {
	printf "(c2)/(b) = %.2f   (d)/(c2) = %.2f   CPU per request (c2)/(b) = %.2f, (d)/(c2) = %.2f\n", c2 / b, d / c2, cc2 / cb, cd / cc2 }'
fi

# ---------------------------------------------------------------------------
# TLS termination (issue 16): run with BENCH_TLS=1 (make bench-gateway
# BENCH_TLS=1, or BENCH_TLS=1 ./scripts/bench-gateway.sh). Side by side, on
# the same self-signed ECDSA P-256 certificate and the same upstream:
#   (g) nginx with `listen ... ssl` and proxy_pass;
#   (h) the Portolan gateway with --gateway-tls-cert/--gateway-tls-key (a
#       second agent, same service, auth + mapping + limits as (d)).
# wrk speaks HTTP/1.1 over TLS, kept alive (handshakes are not measured).
# Ports BENCH_PORT+9 .. +11 are used. The target is (h)/(g) >= 0.8.
bench_tls() {
	need openssl openssl
	local NGINX_TLS=$((PORT + 9)) GW_TLS=$((PORT + 10)) API_TLS=$((PORT + 11)) p
	for p in $NGINX_TLS $GW_TLS $API_TLS; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "port $p is in use; set BENCH_PORT to a free range of 12 ports" >&2
			exit 1
		fi
	done
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/tls-key.pem" -out "$TMP/tls-cert.pem" 2>/dev/null

	# (e) nginx with ssl, its own prefix
	mkdir -p "$TMP/nginx-tls/logs"
	cat >"$TMP/nginx-tls/nginx.conf" <<CONF
$USER_LINE
worker_processes auto;
daemon off;
pid $TMP/nginx-tls/nginx.pid;
error_log $TMP/nginx-tls/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx-tls/body;
	proxy_temp_path $TMP/nginx-tls/proxy;
	fastcgi_temp_path $TMP/nginx-tls/fastcgi;
	uwsgi_temp_path $TMP/nginx-tls/uwsgi;
	scgi_temp_path $TMP/nginx-tls/scgi;
	upstream app {
		server 127.0.0.1:$UP;
		keepalive 64;
	}
	server {
		listen 127.0.0.1:$NGINX_TLS ssl;
		ssl_certificate $TMP/tls-cert.pem;
		ssl_certificate_key $TMP/tls-key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		location / {
			proxy_pass http://app;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
		}
	}
}
CONF
	"$NGINX_BIN" -p "$TMP/nginx-tls" -c "$TMP/nginx-tls/nginx.conf" -e "$TMP/nginx-tls/error.log" &
	PIDS+=($!)
	local nginx_pid=$!

	# (f) a second agent, its gateway over TLS
	env ${BENCH_AGENT_ENV:-} "${BENCH_AGENT_BIN:-bin/portolan}" --log-level warn agent --home "http://127.0.0.1:$HOME_PORT" --token "$AGENT" --service bench \
		--address 127.0.0.1 --port "$UP" --api "127.0.0.1:$API_TLS" --cache-dir "$TMP/cache-tls" --placement-file "$TMP/placement-tls.json" \
		--gateway-listen "127.0.0.1:$GW_TLS" --upstream "http://127.0.0.1:$UP" \
		--gateway-tls-cert "$TMP/tls-cert.pem" --gateway-tls-key "$TMP/tls-key.pem" ${BENCH_AGENT_FLAGS:-} -- sleep 100000 >"$TMP/agent-tls.log" 2>&1 &
	PIDS+=($!)
	local gw_pid=$!

	local tls_urls=("https://127.0.0.1:$NGINX_TLS$PATH_Q" "https://127.0.0.1:$GW_TLS$PATH_Q")
	local tls_pids=("$nginx_pid" "$gw_pid")
	local tls_names=(g h)
	local tls_labels=("(g) nginx ssl + proxy_pass" "(h) Portolan gateway over TLS")
	local i u
	for u in "${tls_urls[@]}"; do
		for _ in $(seq 1 200); do
			[ "$(curl -sk -o /dev/null -w '%{http_code}' "$u")" = 200 ] && break
			sleep 0.05
		done
		[ "$(curl -sk -o /dev/null -w '%{http_code}' "$u")" = 200 ] || {
			echo "$u does not answer 200:" >&2
			cat "$TMP/agent-tls.log" "$TMP/nginx-tls/error.log" >&2
			exit 1
		}
	done
	for i in 0 1; do
		wrk -t"$THREADS" -c"$CONNS" -d2s "${tls_urls[$i]}" >/dev/null
	done
	echo
	echo "==> TLS termination: wrk -t$THREADS -c$CONNS -d$DURATION --latency over TLS, HTTP/1.1 kept alive, $ROUNDS rounds interleaved"
	local r out before after rps reqs cpu p50 p99
	for r in $(seq 1 "$ROUNDS"); do
		local order=(0 1)
		((r % 2)) || order=(1 0) # serpentine, as above
		for i in "${order[@]}"; do
			before=$(cpu_ticks "${tls_pids[$i]}")
			out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${tls_urls[$i]}")
			after=$(cpu_ticks "${tls_pids[$i]}")
			rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
			reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
			cpu=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$reqs" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
			p50=$(to_us "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
			p99=$(to_us "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
			if grep -q 'Non-2xx or 3xx responses:' <<<"$out"; then
				echo "${tls_labels[$i]}: answers were not 2xx" >&2
				exit 1
			fi
			echo "round $r ${tls_names[$i]}: $rps req/s p50 ${p50}us p99 ${p99}us, ${cpu}us CPU/request"
			echo "${tls_names[$i]} $rps $p50 $p99 $cpu" >>"$TMP/results-tls"
		done
	done
	echo
	printf '%-46s %12s %10s %10s %14s\n' "medians (TLS)" "requests/s" "p50 (µs)" "p99 (µs)" "CPU/req (µs)"
	local n
	declare -A TRPS TCPU
	for i in 0 1; do
		n=${tls_names[$i]}
		TRPS[$n]=$(awk -v n="$n" '$1 == n { print $2 }' "$TMP/results-tls" | median)
		p50=$(awk -v n="$n" '$1 == n { print $3 }' "$TMP/results-tls" | median)
		p99=$(awk -v n="$n" '$1 == n { print $4 }' "$TMP/results-tls" | median)
		TCPU[$n]=$(awk -v n="$n" '$1 == n { print $5 }' "$TMP/results-tls" | median)
		printf '%-46s %12s %10s %10s %14s\n' "${tls_labels[$i]}" "${TRPS[$n]}" "$p50" "$p99" "${TCPU[$n]}"
	done
	awk -v h="${TRPS[h]}" -v g="${TRPS[g]}" -v ch="${TCPU[h]}" -v cg="${TCPU[g]}" 'BEGIN {
		printf "\n(h)/(g) = %.2f (target >= 0.80)   CPU per request (h)/(g) = %.2f\n", h / g, ch / cg }'
}

if [ "${BENCH_TLS:-0}" = 1 ]; then
	bench_tls
fi
