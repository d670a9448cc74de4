# Ferrite build entry points. Thin on purpose: each target maps to one step.
#   make deps       install what the build and the tests need (Debian), idempotent
#   make iso        kernel + boot volume + hybrid ISO (target/ferrite.iso)
#                   (make iso LOADER_FEATURES=mp-check: the loader checks the
#                   parked APs' state and logs it, a test build)
#   make qemu       boot the ISO on OVMF into DOOM (doom.exe on freedoom1.wad),
#                   serial on this terminal; quitting DOOM powers off
#                   (make qemu INIT=paint.exe, or hello.exe: another program);
#                   target/disk.img, a FAT32 data disk made once (label DATA:
#                   /disk/DATA/... in programs), is attached as virtio-blk
#   make screenshot boot the ISO, let DOOM's demo play, write docs/screenshot.png
#   make qemu-log   the same, also writing target/serial.log and target/qemu.log
#   make qemu-debug wait for gdb on :1234 with the kernel's symbols
#   make test       lint, then host unit tests + the milestone suite in QEMU
#   make lint       rustfmt and clippy (-D warnings) on every crate
#   make bench      Ferrite's BENCH/BOOT figures beside Linux 6.1's, same QEMU
#                   (make bench ICOUNT=1: instruction-counted, repeatable)
#   make fuzz       the system-call fuzz scenario, as long as asked
#                   (make fuzz CALLS=5000000 SEED=7 THREADS=8 CPUS=4)
#   make fuzz-host  libFuzzer on the PE, boot-config, ELF, ACPI, memory-map,
#                   partition-table and FAT logic
#                   (make fuzz-host SECONDS=600: per target)
#   make fuzz-vmbus the simulated Hyper-V host's 21 hostile cases against the
#                   guest VMBus crates, SEEDS seeds each from BASE
#                   (make fuzz-vmbus SEEDS=1000000 BASE=0; make test runs 64)

SHELL := /bin/bash
CARGO ?= cargo
TARGET := target
ISO := $(TARGET)/ferrite.iso
EFIBOOT := $(TARGET)/efiboot.img
KERNEL := $(TARGET)/kernel/x86_64-unknown-none/release/ferrite-kernel
LOADER := $(TARGET)/loader/x86_64-unknown-uefi/release/ferrite-loader.efi
USER_OUT := $(TARGET)/user/x86_64-pc-windows-msvc/release
USER_PACKAGES := runtime-dll hello m2-tests faults m3-tests exit0 m4-tests paint doom echo
# The program the ISO boots into (limine.conf's init=), and its arguments
# (after the kernel command line's `--`). The default is limine.conf's:
# doom.exe -iwad freedoom1.wad.
INIT ?=
INIT_ARGS ?=
# DOOM's game data: Debian's freedoom package (make deps).
WAD ?= /usr/share/games/doom/freedoom1.wad
STAGE := iso
# The data disk make qemu attaches (made once by tests' mkdisk, then kept).
DISK ?= $(TARGET)/disk.img

# Real Limine is used when its binaries are found (LIMINE_DIR, a system
# install, or target/limine from `make iso LIMINE_FETCH=1`, which clones
# Limine's binary release branch where the network allows); otherwise the
# ISO boots with our own loader on UEFI.
LIMINE_FETCH ?= 0
LIMINE_BRANCH ?= v8.x-binary
LIMINE_REPO ?= https://github.com/limine-bootloader/limine.git
LIMINE_DIR ?= $(firstword $(wildcard $(TARGET)/limine/limine-uefi-cd.bin /usr/share/limine/limine-uefi-cd.bin /usr/local/share/limine/limine-uefi-cd.bin))
LIMINE_DIR := $(patsubst %/limine-uefi-cd.bin,%,$(LIMINE_DIR))
HAVE_LIMINE := $(if $(and $(LIMINE_DIR),$(wildcard $(LIMINE_DIR)/limine-uefi-cd.bin)),yes,)
LIMINE_TOOL ?= $(firstword $(wildcard $(LIMINE_DIR)/limine) $(shell command -v limine 2>/dev/null))

OVMF_CODE ?= $(firstword $(wildcard /usr/share/OVMF/OVMF_CODE_4M.fd /usr/share/OVMF/OVMF_CODE.fd))
OVMF_VARS ?= $(firstword $(wildcard /usr/share/OVMF/OVMF_VARS_4M.fd /usr/share/OVMF/OVMF_VARS.fd))
QEMU_DISPLAY ?= $(if $(DISPLAY),gtk,none)
QEMU_COMMON = -machine q35 -cpu max -smp 1 -m 512M -no-reboot \
	-drive if=pflash,format=raw,readonly=on,file=$(OVMF_CODE) \
	-drive if=pflash,format=raw,file=$(TARGET)/ovmf-vars.fd \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-cdrom $(ISO) -display $(QEMU_DISPLAY) \
	-drive file=$(DISK),format=raw,if=none,id=data -device virtio-blk-pci,drive=data

APT_PACKAGES := qemu-system-x86 ovmf xorriso gcc-mingw-w64-x86-64-win32 clang lld llvm freedoom mtools
ICOUNT ?= 0
# make fuzz: system calls to make, the seed (empty: from the clock), threads, CPUs.
CALLS ?= 2000000
SEED ?=
THREADS ?= 4
CPUS ?= 1
# make fuzz-host: seconds per fuzz target.
SECONDS ?= 60
# make fuzz-vmbus: seeds per hostile case, and the first.
SEEDS ?= 100000
BASE ?= 0
RUST_TARGETS := x86_64-unknown-none x86_64-unknown-uefi x86_64-pc-windows-msvc

.PHONY: all iso qemu qemu-log qemu-debug screenshot test lint bench fuzz fuzz-host fuzz-vmbus deps need-tools kernel loader user clean

all: iso

# QEMU 9 or later: its TCG CPU has x2APIC, which the SMP tests boot with.
# Debian 12's own QEMU (7.2) has none; bookworm-backports has QEMU 10.
QEMU_MIN_MAJOR := 9

deps:
	@missing=""; qemu=""; \
	major=$$(qemu-system-x86_64 --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9]*\).*/\1/p'); \
	[ "$${major:-0}" -ge $(QEMU_MIN_MAJOR) ] || qemu=qemu-system-x86; \
	ls /usr/share/OVMF/OVMF_CODE*.fd >/dev/null 2>&1 || missing="$$missing ovmf"; \
	command -v xorriso >/dev/null || missing="$$missing xorriso"; \
	command -v x86_64-w64-mingw32-gcc >/dev/null || missing="$$missing gcc-mingw-w64-x86-64-win32"; \
	command -v clang >/dev/null || missing="$$missing clang"; \
	command -v lld-link >/dev/null || missing="$$missing lld"; \
	command -v llvm-lib >/dev/null || missing="$$missing llvm"; \
	[ -f /usr/share/games/doom/freedoom1.wad ] || missing="$$missing freedoom"; \
	command -v mcopy >/dev/null || missing="$$missing mtools"; \
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); release=""; \
	if [ -n "$$qemu" ] && [ "$$(. /etc/os-release && echo "$$VERSION_CODENAME")" = bookworm ]; then \
		echo "deb http://deb.debian.org/debian bookworm-backports main" \
			| $$SUDO tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null; \
		release="-t bookworm-backports"; \
	fi; \
	if [ -n "$$missing$$qemu" ]; then $$SUDO apt-get update -qq || exit 1; fi; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi; \
	if [ -n "$$qemu" ]; then \
		echo "deps: installing QEMU $(QEMU_MIN_MAJOR) or later ($${major:+$$major.x is too old; }qemu-system-x86 $$release)"; \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$release qemu-system-x86 >/dev/null || exit 1; \
	fi; \
	if [ -z "$$missing$$qemu" ]; then \
		echo "deps: qemu $$major, ovmf, xorriso, mingw-w64 gcc, clang/lld/llvm-lib, freedoom and mtools present"; \
	fi
	@rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
	@rustup target add $(RUST_TARGETS) >/dev/null 2>&1 || rustup target add $(RUST_TARGETS)
	@rustup component add rustfmt clippy >/dev/null 2>&1 || rustup component add rustfmt clippy
	@echo "deps: rust $$(rustc --version | cut -d' ' -f2) with $(RUST_TARGETS)"

need-tools:
	@command -v xorriso >/dev/null && command -v qemu-system-x86_64 >/dev/null \
		&& [ -n "$(OVMF_CODE)" ] || $(MAKE) --no-print-directory deps

kernel:
	CARGO_TARGET_DIR=$(TARGET)/kernel $(CARGO) build -p ferrite-kernel --target x86_64-unknown-none --release

loader:
	CARGO_TARGET_DIR=$(TARGET)/loader $(CARGO) build -p ferrite-loader --target x86_64-unknown-uefi --release \
		$(if $(LOADER_FEATURES),--features $(LOADER_FEATURES))

user:
	CARGO_TARGET_DIR=$(TARGET)/user $(CARGO) build --release --target x86_64-pc-windows-msvc \
		$(addprefix -p ,$(USER_PACKAGES))

ifeq ($(LIMINE_FETCH),1)
iso:
	@if [ ! -f $(TARGET)/limine/limine-uefi-cd.bin ]; then \
		rm -rf $(TARGET)/limine; \
		timeout 120 git clone --quiet --depth=1 --branch=$(LIMINE_BRANCH) $(LIMINE_REPO) $(TARGET)/limine \
			&& $(MAKE) -C $(TARGET)/limine >/dev/null \
			|| { echo "iso: could not fetch Limine ($(LIMINE_BRANCH)); using our loader"; rm -rf $(TARGET)/limine; }; \
	fi
	@$(MAKE) --no-print-directory iso LIMINE_FETCH=0
else
iso: need-tools kernel user $(if $(HAVE_LIMINE),,loader)
	@find $(STAGE) -mindepth 1 ! -name README.md -delete
	@mkdir -p $(STAGE)/boot $(STAGE)/EFI/BOOT
	cp $(KERNEL) $(STAGE)/boot/kernel.elf
	cp $(USER_OUT)/runtime.dll $(USER_OUT)/hello.exe $(USER_OUT)/paint.exe $(USER_OUT)/doom.exe $(STAGE)/boot/
	@[ -f $(WAD) ] || { echo "iso: no $(WAD) (Debian's freedoom package: make deps)"; exit 1; }
	cp $(WAD) $(STAGE)/boot/freedoom1.wad
ifeq ($(INIT),)
	cp limine.conf $(STAGE)/limine.conf
else
	sed 's|^\(    cmdline: .*\)init=[^ ]*.*$$|\1init=$(INIT)$(if $(INIT_ARGS), -- $(INIT_ARGS))|' limine.conf > $(STAGE)/limine.conf
	@grep -q 'init=$(INIT)' $(STAGE)/limine.conf
endif
ifeq ($(HAVE_LIMINE),yes)
	@echo "iso: using real Limine from $(LIMINE_DIR)"
	mkdir -p $(STAGE)/boot/limine
	cp $(LIMINE_DIR)/limine-bios.sys $(LIMINE_DIR)/limine-bios-cd.bin $(LIMINE_DIR)/limine-uefi-cd.bin $(STAGE)/boot/limine/
	cp $(LIMINE_DIR)/BOOTX64.EFI $(STAGE)/EFI/BOOT/BOOTX64.EFI
	xorriso -as mkisofs -R -r -J -V FERRITE -b boot/limine/limine-bios-cd.bin -no-emul-boot \
		-boot-load-size 4 -boot-info-table -hfsplus -apm-block-size 2048 \
		--efi-boot boot/limine/limine-uefi-cd.bin -efi-boot-part --efi-boot-image \
		--protective-msdos-label $(STAGE) -o $(ISO) 2>/dev/null
	$(LIMINE_TOOL) bios-install $(ISO)
	@echo "iso: $(ISO) boots with Limine (BIOS and UEFI)"
else
	@echo "iso: Limine not found (set LIMINE_DIR to use it); using our UEFI loader"
	cp $(LOADER) $(STAGE)/EFI/BOOT/BOOTX64.EFI
	$(CARGO) run -q -p ferrite-tests --bin mkimage -- $(STAGE) $(EFIBOOT)
	cp $(EFIBOOT) $(STAGE)/efiboot.img
	xorriso -as mkisofs -R -J -V FERRITE -e efiboot.img -no-emul-boot \
		-isohybrid-gpt-basdat -o $(ISO) $(STAGE) 2>/dev/null
	@echo "iso: $(ISO) boots with the Ferrite loader (UEFI only)"
endif
endif

$(TARGET)/ovmf-vars.fd:
	@mkdir -p $(TARGET)
	cp $(OVMF_VARS) $@

# Made when missing, never rebuilt: what is put on it stays.
$(DISK): | user
	$(CARGO) run -q -p ferrite-tests --bin mkdisk -- $@ $(WAD) $(USER_OUT)/hello.exe $(USER_OUT)/paint.exe

qemu: iso $(TARGET)/ovmf-vars.fd $(DISK)
	qemu-system-x86_64 $(QEMU_COMMON) -serial stdio

qemu-log: iso $(TARGET)/ovmf-vars.fd $(DISK)
	qemu-system-x86_64 $(QEMU_COMMON) \
		-chardev stdio,id=serial0,logfile=$(TARGET)/serial.log,signal=off -serial chardev:serial0 \
		-d int,cpu_reset,guest_errors -D $(TARGET)/qemu.log
	@echo "logs: $(TARGET)/serial.log (serial), $(TARGET)/qemu.log (interrupts and resets)"

qemu-debug: iso $(TARGET)/ovmf-vars.fd $(DISK)
	@echo "waiting for gdb: gdb $(KERNEL) -ex 'target remote :1234'"
	qemu-system-x86_64 $(QEMU_COMMON) -serial stdio -s -S

test: need-tools lint
	$(CARGO) test

fuzz: need-tools
	FUZZ_CALLS=$(CALLS) FUZZ_SEED=$(SEED) FUZZ_THREADS=$(THREADS) FUZZ_CPUS=$(CPUS) \
		$(CARGO) run -q --release -p ferrite-tests --bin fuzz

# Mutations and lies of the simulated Hyper-V host against the guest's
# VMBus crates, on the host (crates/vmbus-e2e/tests/hostile_fuzz.rs).
fuzz-vmbus:
	VMBUS_FUZZ_SEEDS=$(SEEDS) VMBUS_FUZZ_BASE=$(BASE) \
		$(CARGO) test -q --release -p vmbus-e2e --test hostile_fuzz -- --nocapture every_case

# Coverage-guided fuzzing of the parsers on the host (fuzz/): cargo fuzz
# with libFuzzer needs nightly, which rustup installs.
fuzz-host: kernel user
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	FUZZ_SECONDS=$(SECONDS) bash fuzz/run.sh

screenshot: iso
	$(CARGO) run -q -p ferrite-tests --bin screenshot -- $(ISO) docs/screenshot.png

bench: need-tools
	FERRITE_BENCH_ICOUNT=$(ICOUNT) $(CARGO) run -q --release -p ferrite-tests --bin bench

lint:
	$(CARGO) fmt --all --check
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml --check
	$(CARGO) clippy --workspace --exclude ferrite-kernel --exclude ferrite-loader --all-targets -- -D warnings
	$(CARGO) clippy -p ferrite-kernel --target x86_64-unknown-none -- -D warnings
	$(CARGO) clippy -p vmbus -p vmbus-host -p vmbus-devices --target x86_64-unknown-none -- -D warnings
	$(CARGO) clippy -p ferrite-kernel --target x86_64-unknown-none --features milestones -- -D warnings
	$(CARGO) clippy -p ferrite-loader --target x86_64-unknown-uefi -- -D warnings
	$(CARGO) clippy -p ferrite-loader --target x86_64-unknown-uefi --features mp-check -- -D warnings

clean:
	$(CARGO) clean
	@find $(STAGE) -mindepth 1 ! -name README.md -delete
