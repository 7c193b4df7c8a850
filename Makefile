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
	$(GO) test -run '^$$' -bench 'Phases|ApplyWithoutAlarms' -benchtime 1x ./internal/cli/
	$(GO) test -run '^$$' -bench ThrottledApply -benchtime 1x -timeout 20m ./internal/cli/
	$(GO) test -run '^$$' -bench Audit -benchtime 5x ./internal/cli/
	$(GO) test -run '^$$' -bench Rollback -benchtime 1x ./internal/cli/
	$(GO) test -run '^$$' -bench Calls -benchtime 1x ./internal/controls/

# demo: a fresh fake account on loopback, then plan -> apply -> audit ->
# rollback -> audit with the real binary. No AWS account is touched.
demo: build
	@set -u; state=$$(mktemp -d); url_file=$$(mktemp); \
	$(BIN)/fakeaws -addr 127.0.0.1:0 > $$url_file & fake=$$!; \
	trap 'kill $$fake 2>/dev/null; rm -rf $$state $$url_file' EXIT; \
	for i in $$(seq 50); do [ -s $$url_file ] && break; sleep 0.1; done; \
	url=$$(head -n1 $$url_file); \
	export AWS_ENDPOINT_URL=$$url AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_SESSION_TOKEN= \
	  AWS_REGION=us-east-1 AWS_PROFILE= AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	  AWS_EC2_METADATA_DISABLED=true HARDEN_STATE_DIR=$$state HARDEN_CONFIG=$$state/harden.yaml; \
	printf '%s\n' 'version: 1' 'controls:' '  security-alerts: {emails: [security@example.com]}' '  budget-alarm: {amount: 100}' \
	  '  alternate-contacts: {security_name: Demo Security, security_title: Security, security_email: security@example.com, security_phone: "+1 555 0100"}' \
	  > $$state/harden.yaml; \
	echo "== fakeaws serving a fresh account at $$url"; \
	step() { want=$$1; shift; echo; echo "== harden $$*"; $(BIN)/harden "$$@"; got=$$?; \
	  echo "-- exit $$got (expected $$want)"; [ $$got -eq $$want ] || exit 1; }; \
	step 2 plan --regions us-east-1,eu-west-1,af-south-1; \
	step 0 apply --yes --allow-destructive; \
	step 0 audit; \
	step 0 rollback --yes; \
	step 2 audit -o text; \
	echo; echo "== demo finished: the account is back to its fresh state"

clean:
	rm -rf $(BIN)
