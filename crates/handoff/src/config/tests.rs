//! `config::parse` on sample, lenient and broken `limine.conf` files.

use super::*;

const SAMPLE: &str = "timeout: 0\nserial: yes\n\n/Other\n    protocol: multiboot2\n    kernel_path: boot():/x\n\n/Our Kernel\n    protocol: limine\n    kernel_path: boot():/boot/kernel.elf\n    cmdline: loglevel=debug quiet\n    module_path: boot():/boot/initrd.tar\n    module_cmdline: initrd\n    module_path: /boot/font.psf\n\n/Later\n    protocol: limine\n    kernel_path: boot():/boot/other.elf\n";

#[test]
fn picks_first_limine_entry_with_modules() {
    let entry = parse(SAMPLE.as_bytes()).unwrap();
    assert_eq!(entry.name, "Our Kernel");
    assert_eq!(entry.kernel_path, "/boot/kernel.elf");
    assert_eq!(entry.cmdline, "loglevel=debug quiet");
    assert_eq!(
        entry.modules,
        [
            ModuleSpec {
                path: "/boot/initrd.tar",
                cmdline: "initrd"
            },
            ModuleSpec {
                path: "/boot/font.psf",
                cmdline: ""
            },
        ]
    );
}

#[test]
fn accepts_aliases_and_case_insensitive_keys() {
    let text = "/K\nPROTOCOL: Limine\nPath: boot():/k.elf\nkernel_cmdline: a b\nmodule_path: boot():/m\nmodule_string: s\n";
    let entry = parse(text.as_bytes()).unwrap();
    assert_eq!(entry.kernel_path, "/k.elf");
    assert_eq!(entry.cmdline, "a b");
    assert_eq!(entry.modules[0].cmdline, "s");
}

#[test]
fn values_keep_colons_and_crlf_is_fine() {
    let text = "/K\r\n protocol: limine\r\n kernel_path: boot():/k\r\n cmdline: a:b c\r\n";
    let entry = parse(text.as_bytes()).unwrap();
    assert_eq!(entry.cmdline, "a:b c");
    assert_eq!(entry.kernel_path, "/k");
}

#[test]
fn malformed_line_reports_its_number() {
    let text = "timeout: 0\n/K\n protocol: limine\n kernel_path boot():/k\n";
    assert_eq!(
        parse(text.as_bytes()),
        Err(ConfigError::MalformedLine { line: 4 })
    );
    let text = "/K\nprotocol: limine\n: x\n";
    assert_eq!(
        parse(text.as_bytes()),
        Err(ConfigError::EmptyKey { line: 3 })
    );
}

#[test]
fn missing_pieces_are_errors() {
    assert_eq!(parse(b"timeout: 3\n"), Err(ConfigError::NoLimineEntry));
    assert_eq!(
        parse(b"/A\nprotocol: linux\nkernel_path: /k\n"),
        Err(ConfigError::NoLimineEntry)
    );
    assert_eq!(
        parse(b"\n/A\nprotocol: limine\n"),
        Err(ConfigError::NoKernelPath { line: 2 })
    );
    assert_eq!(
        parse(b"/A\nprotocol: limine\nkernel_path: /k\nmodule_cmdline: x\n"),
        Err(ConfigError::ModuleStringWithoutModule { line: 4 })
    );
    assert_eq!(
        parse(b"/A\nprotocol: limine\nkernel_path: /k\nkernel_path: /j\n"),
        Err(ConfigError::DuplicateKey {
            line: 4,
            key: "kernel_path"
        })
    );
    assert_eq!(parse(b"\xff\xfe"), Err(ConfigError::NotUtf8));
}

#[test]
fn unsupported_resources_are_refused() {
    for value in [
        "hdd(1:1):/k",
        "boot():k",
        "boot():/k#abc",
        "boot(2):/k",
        "boot():/",
    ] {
        let text = alloc::format!("/A\nprotocol: limine\nkernel_path: {value}\n");
        assert_eq!(
            parse(text.as_bytes()),
            Err(ConfigError::UnsupportedPath { line: 3 }),
            "{value}"
        );
    }
}

#[test]
fn comments_and_global_options_are_ignored() {
    let text = "# hello\ntimeout: no\nverbose: yes\n/A\n  # inside\n  protocol: limine\n  kaslr: no\n  kernel_path: /k\n";
    assert_eq!(parse(text.as_bytes()).unwrap().kernel_path, "/k");
}

/// The entry we boot, as `SAMPLE` has it (minus its other entries).
const OURS: &str = "\
/Ours
    protocol: limine
    kernel_path: boot():/boot/kernel.elf
    module_path: boot():/boot/runtime.dll
    module_cmdline: runtime.dll
";

fn ours_is_booted(text: &str) {
    let entry = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e} in:\n{text}"));
    assert_eq!(entry.name, "Ours", "{text}");
    assert_eq!(entry.kernel_path, "/boot/kernel.elf");
    assert_eq!(
        entry.modules,
        [ModuleSpec {
            path: "/boot/runtime.dll",
            cmdline: "runtime.dll"
        }]
    );
}

// Entries we do not boot must not stop ours (real Limine boots these
// configs): their paths, missing options and repeated keys are theirs.

#[test]
fn a_later_efi_entry_with_a_partition_path_is_skipped() {
    let efi = "\
/Windows
    protocol: efi
    path: boot(1):/EFI/Microsoft/Boot/bootmgfw.efi
";
    ours_is_booted(&alloc::format!("timeout: 5\n{OURS}{efi}"));
    ours_is_booted(&alloc::format!("{efi}{OURS}"));
}

#[test]
fn a_linux_entry_with_a_uuid_path_is_skipped() {
    let linux = "\
/Linux
    protocol: linux
    kernel_path: uuid(0b4c1f5a-7a4e-4b6e-9d2c-1f0e3a5b6c7d):/vmlinuz
    module_path: fslabel(ROOT):/initrd.img
    cmdline: root=/dev/sda2
";
    ours_is_booted(&alloc::format!("{linux}{OURS}"));
    ours_is_booted(&alloc::format!("{OURS}{linux}"));
}

#[test]
fn a_later_entry_without_kernel_path_is_skipped() {
    let empty = "/Rescue\n    protocol: limine\n    cmdline: rescue\n";
    ours_is_booted(&alloc::format!("{OURS}{empty}"));
    ours_is_booted(&alloc::format!(
        "{OURS}/Submenu\n//Nested\n    protocol: limine\n"
    ));
}

#[test]
fn a_later_entry_with_a_repeated_key_is_skipped() {
    let twice = "\
/Twice
    protocol: limine
    kernel_path: boot():/a
    kernel_path: boot():/b
    cmdline: a
    cmdline: b
    module_cmdline: orphan
";
    ours_is_booted(&alloc::format!("{OURS}{twice}"));
    let garbled = "/Garbled\n    protocol linux\n    : nothing\n";
    ours_is_booted(&alloc::format!("{garbled}{OURS}{garbled}"));
}

#[test]
fn the_booted_entry_is_still_checked_in_full() {
    let ours =
        |extra: &str| alloc::format!("/Other\nprotocol: linux\n/Ours\nprotocol: limine\n{extra}");
    assert_eq!(
        parse(ours("kernel_path: boot(1):/k\n").as_bytes()),
        Err(ConfigError::UnsupportedPath { line: 5 })
    );
    assert_eq!(
        parse(ours("cmdline: a\n").as_bytes()),
        Err(ConfigError::NoKernelPath { line: 3 })
    );
    assert_eq!(
        parse(ours("kernel_path: /k\ncmdline: a\ncmdline: b\n").as_bytes()),
        Err(ConfigError::DuplicateKey {
            line: 7,
            key: "cmdline"
        })
    );
    assert_eq!(
        parse(ours("kernel_path /k\n").as_bytes()),
        Err(ConfigError::MalformedLine { line: 5 })
    );
    // Global lines keep their syntax check.
    assert_eq!(
        parse(alloc::format!("timeout 0\n{OURS}").as_bytes()),
        Err(ConfigError::MalformedLine { line: 1 })
    );
}

#[test]
fn an_entry_is_ours_by_its_first_protocol_line() {
    // Options may come before `protocol`; only the first `protocol`
    // counts, as in Limine.
    let text = "\
/A
kernel_path: /a
protocol: linux
protocol: limine
/B
cmdline: b
kernel_path: /b
PROTOCOL: Limine
protocol: linux
";
    let entry = parse(text.as_bytes()).unwrap();
    assert_eq!(
        (entry.name, entry.kernel_path, entry.cmdline),
        ("B", "/b", "b")
    );
}

#[test]
fn display_mentions_the_line() {
    let msg = alloc::format!("{}", ConfigError::MalformedLine { line: 7 });
    assert!(msg.contains("line 7"), "{msg}");
}
