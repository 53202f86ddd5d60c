# Portolan — build, test and tooling. Only Go is needed: everything else
# (staticcheck, consul, helm) is fetched through the Go module proxy, but for
# Debian packages some targets install with apt-get when absent (apt_install).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
FUZZTIME ?= 30s
STATICCHECK_VERSION := v0.8.2
STATICCHECK := go run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# Integration tests run the built binaries from here.
export PORTOLAN_BIN := $(CURDIR)/bin/portolan
export PORTOLAN_AGENT_BIN := $(CURDIR)/bin/portolan-agent

.DEFAULT_GOAL := build

# urfave_cli_no_docs leaves out urfave/cli's man page and markdown writers
# (blackfriday and go-md2man: 0.25 MB and 0.2 MB allocated at every start);
# portolan generates no docs from its commands.
GO_TAGS := urfave_cli_no_docs

# The agent build (-tags agentonly) is the entrypoint app images carry:
# the agent, status, map, version and completion, without the coordinator, the
# operators' commands and libopenapi (README "Two builds").
AGENT_TAGS := $(GO_TAGS),agentonly

.PHONY: build
build:
	CGO_ENABLED=0 go build -trimpath -tags $(GO_TAGS) -ldflags "-s -w -X main.version=$(VERSION)" -o bin/portolan ./cmd/portolan
	CGO_ENABLED=0 go build -trimpath -tags $(AGENT_TAGS) -ldflags "-s -w -X main.version=$(VERSION)" -o bin/portolan-agent ./cmd/portolan
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/newsapi ./examples/newsapi

# make size: both builds' stripped sizes, their weight per module and
# package (tools/size), the bytes their package init allocates, and the idle
# Rss and Pss of one agent of each build and of AGENTS agents (default 50)
# of the agent build, phoning home with their gateway on; see
# scripts/size.sh.
.PHONY: size
size: build
	GO_TAGS=$(GO_TAGS) ./scripts/size.sh

# make image: the portolan image (full build: the coordinator's), the
# portolan-agent image (agent build: what app images copy the agent from)
# and the demo API image, FROM scratch with the static binaries built above;
# nothing is pulled. The build context is a small directory assembled here,
# not the whole tree.
# Every file of it gets its mode here, whatever the umask (027 on a
# hardened host): COPY keeps modes and makes root the owner, and the
# images run as user 65532, who must read and run them as "others".
IMAGE_CONTEXT := .build/image
CA_CERTS ?= /etc/ssl/certs/ca-certificates.crt
# The legacy builder resolves a local image in FROM without asking a registry.
DOCKER_BUILD := DOCKER_BUILDKIT=0 docker build --pull=false

.PHONY: image
image: build
	rm -rf $(IMAGE_CONTEXT)
	mkdir -p $(IMAGE_CONTEXT)/run/portolan $(IMAGE_CONTEXT)/var/cache/portolan $(IMAGE_CONTEXT)/coordinator/data
	chmod 0755 $(IMAGE_CONTEXT)/run $(IMAGE_CONTEXT)/var $(IMAGE_CONTEXT)/var/cache $(IMAGE_CONTEXT)/coordinator
	chmod 1777 $(IMAGE_CONTEXT)/run/portolan $(IMAGE_CONTEXT)/var/cache/portolan # writable by any --user, like /tmp
	chmod 0700 $(IMAGE_CONTEXT)/coordinator/data # the image's user owns it (COPY --chown)
	install -m 0755 bin/portolan bin/portolan-agent bin/newsapi $(IMAGE_CONTEXT)/
	cp -r examples/newsapi/portolan $(IMAGE_CONTEXT)/composition
	chmod -R u=rwX,go=rX $(IMAGE_CONTEXT)/composition
	install -m 0644 $(CA_CERTS) $(IMAGE_CONTEXT)/ca-certificates.crt
	$(DOCKER_BUILD) -f Dockerfile --build-arg VERSION=$(VERSION) -t portolan:dev -t portolan:$(VERSION) $(IMAGE_CONTEXT)
	$(DOCKER_BUILD) -f Dockerfile.agent --build-arg VERSION=$(VERSION) -t portolan-agent:dev -t portolan-agent:$(VERSION) $(IMAGE_CONTEXT)
	$(DOCKER_BUILD) -f examples/newsapi/Dockerfile --build-arg PORTOLAN_IMAGE=portolan-agent:dev --build-arg VERSION=$(VERSION) \
		-t portolan-newsapi:dev -t portolan-newsapi:$(VERSION) $(IMAGE_CONTEXT)
	@for i in portolan:dev portolan-agent:dev portolan-newsapi:dev; do echo "$$i: $$(docker image inspect --format '{{.Size}}' $$i) bytes"; done

# make release: static binaries for the platforms Portolan runs on, from cloud
# servers to a Raspberry Pi (arm/v7) and home routers (mipsle, soft float),
# each in both builds (portolan and portolan-agent), with their SHA-256 sums.
RELEASE_PLATFORMS := linux/amd64 linux/arm64 linux/arm/v7 linux/mipsle

.PHONY: release
release:
	rm -rf dist/
	mkdir -p dist
	@for p in $(RELEASE_PLATFORMS); do \
		IFS=/ read -r os arch variant <<<"$$p"; \
		for build in portolan:$(GO_TAGS) portolan-agent:$(AGENT_TAGS); do \
			bin=$${build%%:*}-$$os-$$arch$${variant}; \
			echo "==> dist/$$bin"; \
			env CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch GOARM=$${variant#v} GOMIPS=softfloat \
				go build -trimpath -tags $${build#*:} -ldflags "-s -w -X main.version=$(VERSION)" -o "dist/$$bin" ./cmd/portolan; \
		done; \
	done
	cd dist && sha256sum portolan-* > SHA256SUMS
	@cat dist/SHA256SUMS

.PHONY: test
test: lint build consul helm chromium systemd-analyze
	go test -race -count=1 -timeout 30m ./...

# apt_install installs Debian package $(2) with apt-get when command $(1) is
# absent (sudo only when not root).
define apt_install
	@command -v $(1) >/dev/null || { \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(2); }
endef

# make chromium: the headless browser the console's tests drive (Debian's
# chromium package).
.PHONY: chromium
chromium:
	$(call apt_install,chromium,chromium)

# make systemd-analyze: the deploy tests verify the units of deploy/systemd
# with it (Debian's systemd package).
.PHONY: systemd-analyze
systemd-analyze:
	$(call apt_install,systemd-analyze,systemd)

# make helm: Helm (v4.3.2) to render and lint deploy/helm/portolan in the
# deploy tests, built once from the Go module proxy through its own module in
# tools/helm like Consul below; the first build takes minutes. It is kept once
# built: after changing tools/helm/go.mod, rm .tools/helm.
HELM := .tools/helm

.PHONY: helm
helm: $(HELM)

$(HELM):
	@mkdir -p .tools
	cd tools/helm && CGO_ENABLED=0 go build -trimpath -o ../../$(HELM) helm.sh/helm/v4/cmd/helm

# make consul: a real Consul (v1.15.4, the last MPL-2.0 release) for
# development and the integration tests, built once from the Go module proxy
# through its own module in tools/consul; the first build takes minutes.
# It is kept once built: after changing tools/consul/go.mod, rm .tools/consul.
CONSUL := .tools/consul

.PHONY: consul
consul: $(CONSUL)

$(CONSUL):
	@mkdir -p .tools
	cd tools/consul && CGO_ENABLED=0 go build -trimpath -o ../../$(CONSUL) github.com/hashicorp/consul

# make test-upgrade OLD=<git revision>: the tests across versions (build tag
# upgrade: an older home on the current one's data dir, and back), with the
# older build made here from that revision of this repository. Not part of
# make test: CI has one revision.
.PHONY: test-upgrade
test-upgrade: build
	@[ -n "$(OLD)" ] || { echo "make test-upgrade: give OLD=<git revision> of the older build" >&2; exit 2; }
	rm -rf .tools/old && mkdir -p .tools/old/src
	git archive "$(OLD)" | tar -x -C .tools/old/src
	cd .tools/old/src && go build -o ../portolan ./cmd/portolan && \
		CGO_ENABLED=0 go build -tags $(AGENT_TAGS) -o ../portolan-agent ./cmd/portolan
	PORTOLAN_OLD_BIN=$(CURDIR)/.tools/old/portolan PORTOLAN_OLD_AGENT_BIN=$(CURDIR)/.tools/old/portolan-agent \
		PORTOLAN_BIN=$(CURDIR)/bin/portolan PORTOLAN_AGENT_BIN=$(CURDIR)/bin/portolan-agent \
		go test -tags upgrade -count=1 -run Upgrade ./coordinator/ ./agent/

# make bench: every benchmark (medians need -count 6: benchstat bench.out)
# but the scale runs, which bench-scale takes once each; bench-registry and
# bench-gateway drive real processes with loadgen and wrk.
SCALE_BENCH := ConvergenceAtScale|HeartbeatsConsulVsHome

.PHONY: bench
bench: build consul bench-gateway bench-registry bench-scale
	go test -run '^$$' -bench . -skip '$(SCALE_BENCH)' -benchmem -count 6 ./... | tee bench.out

# make bench-scale: gossip convergence at 100 and 1,000 in-process nodes
# (five changes each, medians; about 6 minutes and 3 GB for 1,000), and
# heartbeats of 1,000 and 10,000 instances to home beside a Consul dev agent.
# Needs a quiet machine: the nodes share its cores.
.PHONY: bench-scale
bench-scale: build consul
	go test -run '^$$' -bench 'ConvergenceAtScale' -benchtime 5x -timeout 90m ./gossip/ | tee bench-scale.out
	PORTOLAN_CONSUL_BIN=$(CURDIR)/$(CONSUL) go test -run '^$$' -bench 'HeartbeatsConsulVsHome' -benchtime 1x -timeout 90m \
		./coordinator/ | tee -a bench-scale.out

# make bench-gateway: wrk on loopback against the upstream, nginx, Go's
# httputil.ReverseProxy and the Portolan gateway, side by side (installs wrk
# and nginx with apt-get when absent).
.PHONY: bench-gateway
bench-gateway: build
	./scripts/bench-gateway.sh

# make bench-registry: one coordinator (plain HTTP on loopback, heartbeat
# 10s) and tools/loadgen simulating a fleet of agents from one process:
# registrations, heartbeats/s achieved against asked, p50/p99 latency,
# errors, and the coordinator's RSS per instance. BENCH_INSTANCES (100000),
# BENCH_DURATION (60s), BENCH_INTERVAL (10s), BENCH_CONNS (256) and
# BENCH_REGISTRY_PORT (17170) change the run.
BENCH_INSTANCES ?= 100000
BENCH_DURATION ?= 60s
BENCH_INTERVAL ?= 10s
BENCH_CONNS ?= 256
BENCH_REGISTRY_PORT ?= 17170

.PHONY: bench-registry
bench-registry: build
	go build -o bin/loadgen ./tools/loadgen
	@dir="$$(mktemp -d)"; token="$$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"; \
	bin/portolan --log-level warn coordinator --listen 127.0.0.1:$(BENCH_REGISTRY_PORT) --tls off \
		--data-dir "$$dir" --agent-token "$$token" --heartbeat $(BENCH_INTERVAL) --ttl 30s \
		--max-instances $(BENCH_INSTANCES) --max-instances-per-token $(BENCH_INSTANCES) >"$$dir/coordinator.log" 2>&1 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null; rm -rf "$$dir"' EXIT; \
	for _ in $$(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$(BENCH_REGISTRY_PORT)) 2>/dev/null && break; sleep 0.1; done; \
	echo "coordinator pid $$pid on 127.0.0.1:$(BENCH_REGISTRY_PORT): $(BENCH_INSTANCES) instances, heartbeat $(BENCH_INTERVAL), $(BENCH_DURATION)"; \
	bin/loadgen --url http://127.0.0.1:$(BENCH_REGISTRY_PORT) --token "$$token" --instances $(BENCH_INSTANCES) \
		--interval $(BENCH_INTERVAL) --duration $(BENCH_DURATION) --conns $(BENCH_CONNS) --pid $$pid

.PHONY: lint
lint:
	@out="$$(find . -name '*.go' -not -path './.git/*' -not -path './.tools/*' -not -path '*/testdata/*' -print0 | xargs -0 -r gofmt -l)"; \
	if [ -n "$$out" ]; then echo "gofmt: these files need formatting:"; echo "$$out"; exit 1; fi
	go vet ./...
	$(STATICCHECK) ./...
	@# The 32-bit release targets (linux/arm/v7, linux/mipsle): an int
	@# constant that fits only 64 bits breaks them and nothing else.
	GOOS=linux GOARCH=arm GOARM=7 go build -tags $(GO_TAGS) -o /dev/null ./cmd/portolan
	@# mipsle also lacks some of the syscall package's names (SIGSTKFLT).
	GOOS=linux GOARCH=mipsle GOMIPS=softfloat go build -tags $(AGENT_TAGS) -o /dev/null ./cmd/portolan
	@# The agent build compiles (its tests are the full build's: go vet
	@# above has seen every file but build_agent.go).
	go build -tags $(AGENT_TAGS) -o /dev/null ./cmd/portolan

.PHONY: demo
demo: build
	./scripts/demo.sh

.PHONY: fuzz
fuzz: build
	@for pkg in $$(go list ./...); do \
		targets="$$(go test -list '^Fuzz' "$$pkg")"; \
		for t in $$(grep '^Fuzz' <<<"$$targets" || true); do \
			echo "==> $$pkg $$t ($(FUZZTIME))"; \
			go test -run '^$$' -fuzz '^'"$$t"'$$' -fuzztime $(FUZZTIME) "$$pkg"; \
		done; \
	done

.PHONY: clean
clean:
	rm -rf bin/ .tools/ bench.out bench-scale.out dist/ .build/
