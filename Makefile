# Timbre: build, test, demo and benchmark. Every target installs what it needs first
# (`deps` is idempotent), so each works on a fresh Debian machine with Swift installed.

SWIFT ?= swift
BUILD_RELEASE := .build/release/timbre
BENCH_DIR := .bench
PYTHON ?= python3

# Debian packages: C libraries with headers (audio I/O, resampling, FFT, BLAS, HDF5,
# zlib, FluidSynth, Open MPI), pkg-config to find them, and the recorded instrument samples that
# `timbre synth` plays from Debian (labels/sound-sources.csv): the FluidR3, sf_GMbank and
# Airfont 320 General MIDI SoundFonts, Hydrogen's drum kits, the Synthesis ToolKit's models and
# Festival with one diphone voice (the other voices and the real recordings: MODEL_PACKAGES).
APT_PACKAGES := pkg-config libsndfile1-dev libsamplerate0-dev libfftw3-dev libopenblas-dev \
	libhdf5-dev zlib1g-dev libfluidsynth-dev fluid-soundfont-gm hydrogen-drumkits \
	csound-soundfont denemo-data stk festival festvox-kallpc16k libopenmpi-dev openmpi-bin

# What the model targets install besides: Festival's six other voices, which every model
# recipe's songs sing with, the real guitar recordings, which `make model` trains on, and
# Sectoid's songs, which the real-solo and real-band tests score.
MODEL_PACKAGES := fretsonfire-songs-muldjord fretsonfire-songs-sectoid festvox-itapc16k festvox-italp16k festvox-czech-dita \
	festvox-czech-ph festvox-suopuhe-lj festvox-suopuhe-mv

# Data-parallel training over MPI (`mpirun -np R timbre train ...`) is built in; a plain
# `swift build` without this variable needs no MPI.
export TIMBRE_MPI := 1

.PHONY: all deps build install install-check library-check test demo model separator-model stem-model bench parity fuzz fuzz-smoke clean

all: build

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The commit goes beside the binary for `timbre --version` (and is installed with it).
build: deps
	$(SWIFT) build -c release
	@git describe --always --dirty > .build/release/timbre-commit 2>/dev/null || echo unknown > .build/release/timbre-commit

# Installs the binary, its models and label tables, the man page and shell completions
# under PREFIX (DESTDIR stages them, as packagers expect).
PREFIX ?= /usr/local
install: build
	@bash scripts/install.sh .build/release $(PREFIX)

# Installs into a fresh prefix and uses the installed binary from another folder (CI).
install-check: build
	@$(MAKE) --no-print-directory deps APT_PACKAGES="man-db"
	@bash scripts/install-check.sh

# The tests run the release build, as shipped (a debug build leaves the network's C kernels
# and the numeric modules unoptimised, and the tests slow). The network's tests then run
# again with the AVX2 and the baseline vector paths asked for (TimbreVectorKernels; a CPU
# without AVX-512 or AVX2 repeats the path it has).
TEST_BUILD := -c release -Xswiftc -enable-testing
test: deps
	$(SWIFT) build $(TEST_BUILD) --build-tests
	$(SWIFT) test $(TEST_BUILD) --skip-build --disable-xctest
	TIMBRE_VECTOR_UNIT=avx2 $(SWIFT) test $(TEST_BUILD) --skip-build --disable-xctest --filter TimbreNNTests
	TIMBRE_VECTOR_UNIT=baseline $(SWIFT) test $(TEST_BUILD) --skip-build --disable-xctest --filter TimbreNNTests

# Builds a package that uses the library products by version, as another package would
# (SwiftPM refuses one with unsafe build flags), and prepares and tags through it (CI).
library-check: deps
	@bash scripts/library-check.sh

# The main job: render a small demo folder, tag it with the bundled model and score
# its solo clips.
demo: build
	@bash scripts/demo.sh $(BUILD_RELEASE)

# Trains a classifier like the bundled one and installs it as the package resource: fetches
# the sound sources of datasets/sources.md into TIMBRE_SOURCES, renders a corpus per family
# and the songs, runs the cross-source folds, trains on every family but the test family and
# scores it there (roughly 6 hours on 2 cores once the sources are in place, most of it
# eight fold trainings of about 30 minutes and the bundled model's 32; the songs take about
# 7 GB of disk at a time). The bundled model is made so. `NO_FOLDS=1 make model` trains
# it alone, with thresholds chosen without folds. SONGS=0 leaves the songs out.
TIMBRE_SOURCES ?= sources
model: build
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(MODEL_PACKAGES)"
	@bash scripts/get-sources.sh $(TIMBRE_SOURCES)
	@TIMBRE=$(BUILD_RELEASE) TIMBRE_SOURCES=$(TIMBRE_SOURCES) bash scripts/make-model.sh

# Reproduces the bundled separator and the README's separation table: renders training and
# held-out songs from the sound sources of datasets/sources.md, learns the per-frequency
# floor, trains the Chandna network and two temporal convolutional networks, joins those
# two into an ensemble, scores every candidate on the held-out songs and installs the one
# that does best on the held-out validation songs. The bundled separator, the ensemble, is
# `TCN_EPOCHS=50 make separator-model`: each temporal network's 50 epochs take 20 to 92 s
# each by machine (about 20 to 75 minutes a network), the Chandna network up to 120 shorter
# ones; 35 GB of disk and 8 GB of memory for the 1,000 training songs.
separator-model: build
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(MODEL_PACKAGES)"
	@bash scripts/get-sources.sh $(TIMBRE_SOURCES)
	@TIMBRE=$(BUILD_RELEASE) TIMBRE_SOURCES=$(TIMBRE_SOURCES) bash scripts/make-separator-model.sh

# Trains a classifier for the separated stems (`tag --separate --stem-model`,
# scripts/make-stem-model.sh): renders 300 songs, separates them with the bundled separator,
# trains the model's recipe on `make model`'s training data plus the separated stems, and
# prints tagging with and without it on the separator's held-out songs (about 40 minutes
# on 2 cores after `make model` and `make separator-model`, whose work folders it reads
# from MODEL_WORK and SEPARATOR_WORK; 17 GB of disk).
stem-model: build
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(MODEL_PACKAGES)"
	@bash scripts/get-sources.sh $(TIMBRE_SOURCES)
	@TIMBRE=$(BUILD_RELEASE) TIMBRE_SOURCES=$(TIMBRE_SOURCES) bash scripts/make-stem-model.sh

# Fuzzes the parsers of untrusted files with libFuzzer and AddressSanitizer
# (scripts/fuzz.sh): 1,000,000 executions per harness on 2 cores, up to 3 hours each; about
# 3 hours in all, most of it for the feature-file harness, which writes and reads an HDF5
# file per execution.
fuzz: deps
	@bash scripts/fuzz.sh

# A short pass for CI: the fuzzers build and run 20 s per harness without finding anything.
fuzz-smoke: deps
	@FUZZ_SECONDS=20 FUZZ_WORK=.fuzz-smoke bash scripts/fuzz.sh

# Benchmarks print timbre and the usual Python tools side by side, on the same files.
bench: build
	@test -x $(BENCH_DIR)/venv/bin/python || $(PYTHON) -m venv $(BENCH_DIR)/venv
	@$(BENCH_DIR)/venv/bin/pip install -q --disable-pip-version-check -r bench/requirements.txt
	@# musicnn 0.1.0 pins a numpy of 2019; it runs on today's through tf_keras.
	@$(BENCH_DIR)/venv/bin/pip install -q --disable-pip-version-check --no-deps musicnn==0.1.0
	$(SWIFT) build -c release --product timbre-bench
	$(BENCH_DIR)/venv/bin/python bench/bench_prepare.py --timbre $(BUILD_RELEASE) --work $(BENCH_DIR)/prepare
	$(BENCH_DIR)/venv/bin/python bench/bench_nn.py --timbre-bench .build/release/timbre-bench
	$(BENCH_DIR)/venv/bin/python bench/bench_tag.py --timbre $(BUILD_RELEASE) --work $(BENCH_DIR)/tag
	$(BENCH_DIR)/venv/bin/python bench/bench_musicnn.py --timbre $(BUILD_RELEASE) --work $(BENCH_DIR)/musicnn
	$(BENCH_DIR)/venv/bin/python bench/bench_museval.py --timbre $(BUILD_RELEASE) --work $(BENCH_DIR)/museval
	$(BENCH_DIR)/venv/bin/python bench/bench_separate.py --timbre $(BUILD_RELEASE) --work $(BENCH_DIR)/separate

# Trains the CNN with timbre and with the Keras reference on the same feature files
# once per seed (about 35 minutes on 2 cores) and prints their validation errors side by side.
parity: build
	@test -x $(BENCH_DIR)/venv/bin/python || $(PYTHON) -m venv $(BENCH_DIR)/venv
	@$(BENCH_DIR)/venv/bin/pip install -q --disable-pip-version-check -r bench/requirements.txt
	$(BENCH_DIR)/venv/bin/python bench/train_parity.py --timbre $(BUILD_RELEASE) --work $(BENCH_DIR)/parity60 \
		--takes 60 --epochs 10 --seeds 1,2,3

clean:
	rm -rf .build $(BENCH_DIR) demo
