GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/harden-dev/harden/internal/version.Version=$(VERSION)

.PHONY: build test lint demo bench clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/harden ./cmd/harden
	$(GO) build -o $(BIN)/fakeaws ./cmd/fakeaws

test: lint
	$(GO) test -race -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/engine/

demo: build
	./scripts/demo.sh

clean:
	rm -rf $(BIN)
