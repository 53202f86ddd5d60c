# Portolan — build, test and tooling. Only Go is needed: everything else
# (staticcheck, consul) is fetched through the Go module proxy, but for the
# headless chromium the console's tests drive (make chromium, from apt).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
FUZZTIME ?= 30s
STATICCHECK_VERSION := v0.8.2
STATICCHECK := go run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# Integration tests run the built binary from here.
export PORTOLAN_BIN := $(CURDIR)/bin/portolan

.DEFAULT_GOAL := build

# urfave_cli_no_docs leaves out urfave/cli's man page and markdown writers
# (blackfriday and go-md2man: 0.25 MB and 0.2 MB allocated at every start);
# portolan generates no docs from its commands.
GO_TAGS := urfave_cli_no_docs

.PHONY: build
build:
	CGO_ENABLED=0 go build -trimpath -tags $(GO_TAGS) -ldflags "-s -w -X main.version=$(VERSION)" -o bin/portolan ./cmd/portolan
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/newsapi ./examples/newsapi

# make size: the stripped binary's size, its weight per module and package
# (tools/size), the bytes package init allocates, and the idle Rss and Pss of
# one agent and of AGENTS agents (default 50) phoning home with their
# gateway on; see scripts/size.sh.
.PHONY: size
size: build
	GO_TAGS=$(GO_TAGS) ./scripts/size.sh

# make image: the portolan image and the demo API image, FROM scratch with the
# static binaries built above; nothing is pulled. The build context is a small
# directory assembled here, not the whole tree.
IMAGE_CONTEXT := .build/image
CA_CERTS ?= /etc/ssl/certs/ca-certificates.crt
# The legacy builder resolves a local image in FROM without asking a registry.
DOCKER_BUILD := DOCKER_BUILDKIT=0 docker build --pull=false

.PHONY: image
image: build
	rm -rf $(IMAGE_CONTEXT)
	mkdir -p $(IMAGE_CONTEXT)/run/portolan
	chmod 0755 $(IMAGE_CONTEXT)/run
	chmod 1777 $(IMAGE_CONTEXT)/run/portolan # writable by any --user, like /tmp
	cp bin/portolan bin/newsapi $(IMAGE_CONTEXT)/
	cp -r examples/newsapi/portolan $(IMAGE_CONTEXT)/composition
	cp $(CA_CERTS) $(IMAGE_CONTEXT)/ca-certificates.crt
	$(DOCKER_BUILD) -f Dockerfile -t portolan:dev -t portolan:$(VERSION) $(IMAGE_CONTEXT)
	$(DOCKER_BUILD) -f examples/newsapi/Dockerfile --build-arg PORTOLAN_IMAGE=portolan:dev \
		-t portolan-newsapi:dev -t portolan-newsapi:$(VERSION) $(IMAGE_CONTEXT)
	@for i in portolan:dev portolan-newsapi:dev; do echo "$$i: $$(docker image inspect --format '{{.Size}}' $$i) bytes"; done

# make release: static binaries for the platforms Portolan runs on, from cloud
# servers to a Raspberry Pi (arm/v7) and home routers (mipsle, soft float),
# with their SHA-256 sums.
RELEASE_PLATFORMS := linux/amd64 linux/arm64 linux/arm/v7 linux/mipsle

.PHONY: release
release:
	rm -rf dist/
	mkdir -p dist
	@for p in $(RELEASE_PLATFORMS); do \
		IFS=/ read -r os arch variant <<<"$$p"; \
		name="portolan-$$os-$$arch$${variant}"; \
		echo "==> dist/$$name"; \
		env CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch GOARM=$${variant#v} GOMIPS=softfloat \
			go build -trimpath -tags $(GO_TAGS) -ldflags "-s -w -X main.version=$(VERSION)" -o "dist/$$name" ./cmd/portolan; \
	done
	cd dist && sha256sum portolan-* > SHA256SUMS
	@cat dist/SHA256SUMS

.PHONY: test
test: lint build consul chromium
	go test -race -count=1 -timeout 30m ./...

# make chromium: the headless browser the console's tests drive (Debian's
# chromium package), installed with apt-get when absent.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null || { \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }

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

.PHONY: bench
bench: build bench-gateway
	go test -run '^$$' -bench . -benchmem -count 6 ./... | tee bench.out

# make bench-gateway: wrk on loopback against the upstream, nginx, Go's
# httputil.ReverseProxy and the Portolan gateway, side by side (installs wrk
# and nginx with apt-get when absent).
.PHONY: bench-gateway
bench-gateway: build
	./scripts/bench-gateway.sh

.PHONY: lint
lint:
	@out="$$(find . -name '*.go' -not -path './.git/*' -not -path './.tools/*' -not -path '*/testdata/*' -print0 | xargs -0 -r gofmt -l)"; \
	if [ -n "$$out" ]; then echo "gofmt: these files need formatting:"; echo "$$out"; exit 1; fi
	go vet ./...
	$(STATICCHECK) ./...

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
	rm -rf bin/ .tools/ bench.out dist/ .build/
