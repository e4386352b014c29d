# crawlhost developer entry points. `make demo` and `make test` are the two
# commands of the README; both install what they need on a fresh machine.

CARGO ?= cargo
JOBS ?= 2
WASM_TARGET := wasm32-wasip2
WASM_OUT := $(or $(CARGO_TARGET_DIR),target)/$(WASM_TARGET)/release
# Plugins shipped with the host, copied into ./plugins for the host to load.
PLUGINS := oliveyoung twitter instagram
# Guest components used only by the tests.
GUESTS := guest-wrong-world guest-future-contract guest-echo guest-hostile guest-fetcher guest-parsebench guest-legacy-v01 guest-legacy-v02 guest-browser

# Plugins and test guests written in Python (componentize-py) and
# JavaScript (componentize-js), each a directory built into $(WASM_OUT) as
# DIR-NAME.wasm. Not copied into ./plugins: oliveyoung-py writes the topics
# oliveyoung writes. The toolchains come from scripts/install/.
PY_DIRS := plugins/oliveyoung-py plugins/oliveyoung-bs4 tests/script-guests/ticker-py
JS_DIRS := plugins/twitter-js tests/script-guests/ticker-js
PY_SDK := $(wildcard plugins/sdk-python/crawlhost/*.py)
JS_SDK := $(wildcard plugins/sdk-js/*.js plugins/sdk-js/*.mjs)
PY_WASM := $(foreach d,$(PY_DIRS),$(WASM_OUT)/$(notdir $(d)).wasm)
JS_WASM := $(foreach d,$(JS_DIRS),$(WASM_OUT)/$(notdir $(d)).wasm)

.PHONY: build plugins guests script-plugins demo test bench lint fmt

## build: the host binary (release) and the plugins
build: plugins
	$(CARGO) build -j$(JOBS) --release -p crawlhost

## plugins: build every plugin for wasm32-wasip2 and drop it into ./plugins
plugins:
	$(CARGO) build -j$(JOBS) --release --target $(WASM_TARGET) $(addprefix -p ,$(PLUGINS))
	@mkdir -p plugins
	@for p in $(PLUGINS); do cp $(WASM_OUT)/$$p.wasm plugins/$$p.wasm; echo "plugins/$$p.wasm"; done

## guests: build the test guest components
guests:
	$(CARGO) build -j$(JOBS) --release --target $(WASM_TARGET) $(addprefix -p ,$(GUESTS))
	@# The ticker guest in two versions, for the hot-swap test.
	@for v in 1.0.0 2.0.0; do \
	  TICKER_VERSION=$$v $(CARGO) build -j$(JOBS) --release --target $(WASM_TARGET) -p guest-ticker && \
	  cp $(WASM_OUT)/guest_ticker.wasm $(WASM_OUT)/ticker-$$v.wasm || exit 1; \
	done
	@# The oliveyoung plugin and the parse benchmark with the HTML parser
	@# compiled in (feature guest-parser), as plugins built before the html
	@# capability were; then the normal builds again, so the default
	@# artifacts stay the capability builds.
	@for p in oliveyoung guest-parsebench; do \
	  f=$$(echo $$p | tr - _); \
	  $(CARGO) build -j$(JOBS) --release --target $(WASM_TARGET) -p $$p --features crawlhost-sdk/guest-parser && \
	  cp $(WASM_OUT)/$$f.wasm $(WASM_OUT)/$$f-guest-parser.wasm && \
	  $(CARGO) build -j$(JOBS) --release --target $(WASM_TARGET) -p $$p || exit 1; \
	done
	@# One bad plugin per conformance rule, for the kit's tests.
	@for m in undeclared-host endless nonjson manifest; do \
	  BAD_MODE=$$m $(CARGO) build -j$(JOBS) --release --target $(WASM_TARGET) -p guest-bad && \
	  cp $(WASM_OUT)/guest_bad.wasm $(WASM_OUT)/bad-$$m.wasm || exit 1; \
	done

## script-plugins: build the Python and JavaScript plugins and test guests
## (rebuilt when their sources, the SDK or the contract change)
script-plugins: $(PY_WASM) $(JS_WASM)

.SECONDEXPANSION:
$(PY_WASM): $(WASM_OUT)/%.wasm: $$(shell find $$(filter %/$$*,$(PY_DIRS)) -name '*.py') $(PY_SDK) wit/plugin.wit
	bash scripts/build-python-plugin.sh $(filter %/$*,$(PY_DIRS)) $@

$(JS_WASM): $(WASM_OUT)/%.wasm: $$(shell find $$(filter %/$$*,$(JS_DIRS)) -name '*.js') $(JS_SDK) wit/plugin.wit
	bash scripts/build-js-plugin.sh $(filter %/$*,$(JS_DIRS)) $@

## demo: crawl the bundled fixture site on embedded defaults and show what landed
demo:
	bash scripts/demo.sh

## test: install prerequisites, build plugins and guests, run every test
test:
	bash scripts/test.sh

## bench: crawl throughput against Scrapy and the original crawler, sandbox
## cost (criterion); see BENCHMARKS.md. Not part of `make test`.
bench:
	bash scripts/bench.sh

## lint: formatting and clippy, warnings are errors
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy -j$(JOBS) --workspace $(addprefix --exclude ,$(GUESTS) guest-ticker guest-bad) --all-targets -- -D warnings
	$(CARGO) clippy -j$(JOBS) --target $(WASM_TARGET) $(addprefix -p ,$(PLUGINS)) -- -D warnings

fmt:
	$(CARGO) fmt --all
