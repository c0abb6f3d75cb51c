# Thin wrapper around Meson. The build lives in $(BUILD) (default: build).
#   make               configure and build
#   make install       install; default prefix /usr/local, so the module is
#                      /usr/local/lib/pkcs11/libtpm11.so  (PREFIX=... to change)
#   make check         every test (tests/run), ends with "N passed, N failed"
#   make demo          the SSH workflow end to end on a software TPM
#   make clean         remove the build directory
#
# PREFIX, LIBDIR and P11KIT_MODULE_DIR always take effect: a build directory
# configured before with other values (by ./scripts/demo, tests/run or an
# earlier make) is reconfigured for them, and make says so. MESON_OPTS
# (-Dname=value options) are given to the first `meson setup` and to every
# reconfiguration. P11KIT_MODULE_DIR empty: tpm11.module goes to p11-kit's
# own directory for PREFIX /usr or /usr/local, else under PREFIX (see
# README.md, "Install").

BUILD ?= build
PREFIX ?= /usr/local
# lib, not Debian's multiarch lib/<triplet>: the module lands in $(PREFIX)/lib/pkcs11/
LIBDIR ?= lib
P11KIT_MODULE_DIR ?=
MESON_OPTS ?=

.PHONY: all build configure install uninstall check test demo deps clean

all: build

configure:
	@case "$(PREFIX)" in /*) ;; *) echo "make: PREFIX must be an absolute path (is '$(PREFIX)')" >&2; exit 2 ;; esac
	@if [ ! -f "$(BUILD)/build.ninja" ]; then \
		echo "meson setup --prefix=$(PREFIX) --libdir=$(LIBDIR) -Dp11kit_module_dir=$(P11KIT_MODULE_DIR) $(MESON_OPTS) $(BUILD)"; \
		meson setup --prefix="$(PREFIX)" --libdir="$(LIBDIR)" -Dp11kit_module_dir="$(P11KIT_MODULE_DIR)" $(MESON_OPTS) "$(BUILD)"; \
	else \
		have=$$(meson introspect --buildoptions "$(BUILD)" | python3 -c 'import json, sys; o = {x["name"]: x["value"] for x in json.load(sys.stdin)}; print(o["prefix"], o["libdir"], o["p11kit_module_dir"] or "-")') || exit 1; \
		want="$(PREFIX) $(LIBDIR) $(or $(P11KIT_MODULE_DIR),-)"; \
		if [ "$$have" != "$$want" ]; then \
			echo "make: $(BUILD) was configured for prefix, libdir, p11kit_module_dir = $$have; reconfiguring for $$want"; \
		fi; \
		if [ "$$have" != "$$want" ] || [ -n "$(MESON_OPTS)" ]; then \
			meson configure "$(BUILD)" -Dprefix="$(PREFIX)" -Dlibdir="$(LIBDIR)" -Dp11kit_module_dir="$(P11KIT_MODULE_DIR)" $(MESON_OPTS) >/dev/null || exit 1; \
		fi; \
	fi

build: configure
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
