# Portolan — build, test and tooling. Only Go is needed: everything else
# (staticcheck) is fetched through the Go module proxy.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
FUZZTIME ?= 30s
STATICCHECK_VERSION := v0.8.2
STATICCHECK := go run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# Integration tests run the built binary from here.
export PORTOLAN_BIN := $(CURDIR)/bin/portolan

.DEFAULT_GOAL := build

.PHONY: build
build:
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o bin/portolan ./cmd/portolan
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/newsapi ./examples/newsapi

.PHONY: test
test: lint build
	go test -race -count=1 -timeout 30m ./...

.PHONY: bench
bench: build
	go test -run '^$$' -bench . -benchmem -count 6 ./... | tee bench.out

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
	rm -rf bin/ .tools/ bench.out
