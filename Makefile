# chatapp — `make run` builds everything and serves on :3000; `make test`
# runs every test. See README.md.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
WASM     := web/app.wasm
FUZZTIME ?= 30s
PORT     ?= 3000

.PHONY: all build wasm run test vet fuzz clean interop-deps screenshots

all: build

build: wasm
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="$(LDFLAGS)" -o chatapp .

# The UI: app/wasm compiled to WebAssembly, plus the pre-compressed copies
# the server sends to browsers that accept them. All three are embedded.
wasm:
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="-s -w" -o $(WASM) ./app/wasm
	gzip -9 -k -n -f $(WASM)
	brotli -q 11 -f -o $(WASM).br $(WASM)

run: build
	./chatapp --port $(PORT)

# npm socket.io-client for the interop test (testdata/interop) and the
# socket.io reference peer the bench tests also drive (bench/peer).
interop-deps:
	cd testdata/interop && npm ci --no-audit --no-fund --loglevel=error
	cd bench/peer && npm ci --no-audit --no-fund --loglevel=error

test: build vet interop-deps
	CHATAPP_BIN=$(CURDIR)/chatapp $(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./shared/... ./app/...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

# Each fuzz target runs for FUZZTIME (go test allows one target per run).
fuzz:
	@for t in $$($(GO) test -list '^Fuzz' ./shared/ | grep ^Fuzz); do \
		echo "== $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) ./shared/ || exit 1; \
	done

# Rewrites docs/screenshots/*.png from the browser test.
screenshots: build
	UPDATE_SCREENSHOTS=1 CHATAPP_BIN=$(CURDIR)/chatapp $(GO) test -count=1 -run TestBrowserChat .

clean:
	rm -f chatapp $(WASM) $(WASM).gz $(WASM).br

# The load test of issue 4: chatapp and the Node reference peer (bench/peer),
# each scenario in fresh processes, alternately; BENCH_QUICK=1 for a smoke run.
.PHONY: bench
bench: build
	bash bench/run.sh
