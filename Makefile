# The targets users type.  Each one installs what is missing first.
BUILD ?= build

.PHONY: all deps test-deps build check demo bench clean

all: build

deps:
	@scripts/install-deps.sh --build-only

# Test-only packages too (qemu-system-x86: the analyser's QEMU stream).
test-deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	@./configure --builddir=$(BUILD)

build: deps $(BUILD)/build.ninja
	@ninja -C $(BUILD)

check: test-deps build
	@scripts/run-tests.sh $(BUILD)

demo: build
	@python3 scripts/demo.py --build $(BUILD) $(DEMO_ARGS)

bench: build
	@scripts/run-bench.sh $(BUILD)

clean:
	rm -rf $(BUILD)
