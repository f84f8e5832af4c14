# The targets users type.  Each one installs what is missing first.
BUILD ?= build

.PHONY: all deps test-deps build check demo bench fuzz clean

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

# The libFuzzer targets (clang), FUZZ_SECONDS each; not part of check.
FUZZ_SECONDS ?= 60
fuzz: deps
	@[ -f build-fuzz/build.ninja ] || CC=clang ./configure --builddir=build-fuzz --enable-fuzzing
	@ninja -C build-fuzz tests/fuzz/fuzz-stream tests/fuzz/fuzz-qmp tests/fuzz/fuzz-xbzrle \
		tests/fuzz/fuzz-multifd tests/fuzz/fuzz-return-path tests/fuzz/fuzz-devstate \
		tests/fuzz/fuzz-hmp tests/fuzz/fuzz-mapped-ram tests/fuzz/fuzz-cpu tests/fuzz/fuzz-qtest \
		tests/fuzz/fuzz-postcopy tests/fuzz/fuzz-compress tests/fuzz/stream-filled.bin
	@scripts/run-fuzz.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)
