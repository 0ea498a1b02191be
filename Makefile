# chatapp — `make run` builds everything and serves on :3000; `make test`
# runs every test. See README.md.

GO       ?= go
# Evaluated once, when make starts: a recursive variable would run git
# again for every use, and a long build (make dist) could stamp its
# binaries with different versions if the tree changed meanwhile.
ifndef VERSION
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
endif
LDFLAGS  := -s -w -X main.version=$(VERSION)
WASM     := web/app.wasm
FUZZTIME ?= 500000x
FUZZTIME_SERVER ?= 20000x
PORT     ?= 3000

.PHONY: all build wasm run test vet fuzz clean interop-deps screenshots dist

all: build

build: wasm
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="$(LDFLAGS)" -o chatapp .

# The UI: app/wasm compiled to WebAssembly, plus the pre-compressed copies
# the server sends to browsers that accept them (gzip and brotli, made by
# app/wasm/compress, so the build needs nothing but Go). All three are
# embedded. They are remade only when a Go file of app/ or shared/ (or a
# module version) changed: brotli at its best takes most of a minute.
# The sources are found with make's own wildcard, not find(1), so that a
# machine with only Go, make and git builds.
rwildcard = $(foreach d,$(wildcard $(1:=/*)),$(call rwildcard,$d,$2) $(filter $(subst *,%,$2),$d))
WASM_SRC := $(filter-out %_test.go,$(call rwildcard,app shared,*.go)) go.mod go.sum

wasm: $(WASM).br

$(WASM).br: $(WASM_SRC)
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="-s -w" -o $(WASM) ./app/wasm
	$(GO) run ./app/wasm/compress $(WASM)

# Release binaries: static (no cgo: the SQLite driver is pure Go),
# version-stamped, one per platform, named chatapp_<version>_<os>_<arch>,
# plus SHA256SUMS. `make dist DIST_PLATFORMS=linux/amd64 DIST=dir` builds
# a subset elsewhere (the dist test does).
DIST           ?= dist
DIST_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
dist: wasm
	rm -rf $(DIST) && mkdir -p $(DIST)
	@for p in $(DIST_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		out=$(DIST)/chatapp_$(VERSION)_$${os}_$${arch}$$ext; echo "$$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags="$(LDFLAGS)" -o $$out . || exit 1; \
	done
	cd $(DIST) && sha256sum chatapp_* > SHA256SUMS
	@ls -l $(DIST)

run: build
	./chatapp --port $(PORT)

# npm socket.io-client for the interop test (testdata/interop), the
# socket.io reference peer the bench tests also drive (bench/peer), and
# axe-core, which the browser tests inject to check accessibility.
interop-deps:
	cd testdata/interop && npm ci --no-audit --no-fund --loglevel=error
	cd bench/peer && npm ci --no-audit --no-fund --loglevel=error
	cd testdata/axe && npm ci --no-audit --no-fund --loglevel=error

test: build vet interop-deps
	@[ -n "$$CHATAPP_CLEAN_BUILD" ] || echo "note: TestCleanCloneBuild skips unless CHATAPP_CLEAN_BUILD=1 (.ci/run sets it)"
	CHATAPP_BIN=$(CURDIR)/chatapp $(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./shared/... ./app/...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

# Each fuzz target of shared/, server/ and server/sio/ runs FUZZTIME inputs
# (go test allows one target per run); fuzz-ci below does the same with
# fewer. Budgets are counts, not durations: with a duration, Go 1.26's
# fuzz coordinator can fail a target with a bare "context deadline
# exceeded" as the time runs out (go.dev/issue/75804, fixed in Go 1.27).
fuzz:
	@$(MAKE) --no-print-directory fuzz-ci FUZZTIME_CI=$(FUZZTIME) FUZZTIME_CI_SERVER=$(FUZZTIME_SERVER)

# Rewrites docs/screenshots/*.png from the browser test.
screenshots: build
	UPDATE_SCREENSHOTS=1 CHATAPP_BIN=$(CURDIR)/chatapp $(GO) test -count=1 -run TestBrowserChat .

clean:
	rm -f chatapp $(WASM) $(WASM).gz $(WASM).br
	rm -rf dist

# The load test of issue 4: chatapp and the Node reference peer (bench/peer),
# each scenario in fresh processes, alternately; BENCH_QUICK=1 for a smoke run.
.PHONY: bench
bench: build
	bash bench/run.sh

# The fault tests of issue 5 at soak length (docs/RELIABILITY.md):
# CHATAPP_SOAK=1 makes them longer and bigger; no -race, so that the
# figures are the server's. `make test` runs the short variants.
.PHONY: soak fuzz-ci
soak: build
	CHATAPP_BIN=$(CURDIR)/chatapp CHATAPP_SOAK=1 $(GO) test -count=1 -timeout 60m -v \
		-run '^(TestKill9UnderLoad|TestGracefulStopAndCatchUp|TestSlowConsumer|TestReconnectStorm)$$' .
	CHATAPP_SOAK=1 $(GO) test -count=1 -timeout 30m -v \
		-run '^(TestFloodRateLimited|TestFloodUnlimited)$$' ./server/

# Every fuzz target of shared/, server/ and server/sio/, FUZZTIME_CI inputs
# each (a few seconds; CI); server/'s target drives a live server, a few
# hundred inputs a second, so it gets FUZZTIME_CI_SERVER.
FUZZTIME_CI ?= 30000x
FUZZTIME_CI_SERVER ?= 1000x
fuzz-ci:
	@for pkg in ./shared/ ./server/ ./server/sio/; do \
		n=$(FUZZTIME_CI); [ $$pkg = ./server/ ] && n=$(FUZZTIME_CI_SERVER); \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep ^Fuzz); do \
			echo "== $$pkg $$t"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $$n $$pkg || exit 1; \
		done; \
	done
