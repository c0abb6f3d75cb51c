# Thin wrapper around Meson. The build lives in $(BUILD) (default: build).
#   make               configure (once) and build
#   make install       install; default prefix /usr/local, so the module is
#                      /usr/local/lib/pkcs11/libtpm11.so  (PREFIX=... to change)
#   make check         every test (tests/run), ends with "N passed, N failed"
#   make demo          the SSH workflow end to end on a software TPM
#   make clean         remove the build directory

BUILD ?= build
PREFIX ?= /usr/local
# lib, not Debian's multiarch lib/<triplet>: the module lands in $(PREFIX)/lib/pkcs11/
LIBDIR ?= lib
MESON_OPTS ?=

.PHONY: all build install uninstall check test demo deps clean

all: build

$(BUILD)/build.ninja:
	meson setup --prefix=$(PREFIX) --libdir=$(LIBDIR) $(MESON_OPTS) $(BUILD)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

install: build
	meson install -C $(BUILD) --no-rebuild

uninstall:
	ninja -C $(BUILD) uninstall

check test:
	TPM11_BUILD=$(abspath $(BUILD)) ./tests/run

demo:
	TPM11_BUILD=$(abspath $(BUILD)) ./scripts/demo

deps:
	./scripts/install-deps

clean:
	rm -rf $(BUILD)
