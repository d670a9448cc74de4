//! `limine.conf` parsing: picks the first `protocol: limine` entry (§9).
//!
//! Syntax (Limine 8.x): `name: value` lines, option names case-insensitive,
//! `#` comment lines, and a line starting with `/` opens a menu entry.
//! Options before the first entry (`timeout`, `serial`, ...) are global and
//! ignored by us; so are entry options we do not implement.

use alloc::vec::Vec;
use core::fmt;

/// Where the loader looks for the config on the boot volume, in order (§9).
pub const CONFIG_PATHS: [&str; 5] = [
    "/limine.conf",
    "/limine/limine.conf",
    "/boot/limine.conf",
    "/boot/limine/limine.conf",
    "/EFI/BOOT/limine.conf",
];

/// One module named by the config (`module_path` + optional string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSpec<'a> {
    /// Volume path with a leading `/` (the `boot():` prefix removed).
    pub path: &'a str,
    /// `module_cmdline` / `module_string`, `""` if unset.
    pub cmdline: &'a str,
}

/// The menu entry we boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootEntry<'a> {
    /// Entry title (text after the leading slashes).
    pub name: &'a str,
    /// Kernel volume path with a leading `/`.
    pub kernel_path: &'a str,
    /// Kernel command line, `""` if unset.
    pub cmdline: &'a str,
    /// Config modules in config order.
    pub modules: Vec<ModuleSpec<'a>>,
}

/// Why a config could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The file is not valid UTF-8.
    NotUtf8,
    /// A line is neither blank, comment, entry title nor `name: value`.
    MalformedLine {
        /// 1-based line number.
        line: usize,
    },
    /// `name:` with an empty name.
    EmptyKey {
        /// 1-based line number.
        line: usize,
    },
    /// A key that may appear once per entry appeared twice.
    DuplicateKey {
        /// 1-based line number of the second occurrence.
        line: usize,
        /// The key as written.
        key: &'static str,
    },
    /// `module_cmdline` / `module_string` with no `module_path` before it.
    ModuleStringWithoutModule {
        /// 1-based line number.
        line: usize,
    },
    /// A path value we cannot resolve (only `boot():/...` and `/...`).
    UnsupportedPath {
        /// 1-based line number.
        line: usize,
    },
    /// No entry has `protocol: limine`.
    NoLimineEntry,
    /// The chosen entry has no `kernel_path`.
    NoKernelPath {
        /// 1-based line number of the entry title.
        line: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotUtf8 => write!(f, "config is not valid UTF-8"),
            Self::MalformedLine { line } => {
                write!(f, "config line {line}: expected `name: value`")
            }
            Self::EmptyKey { line } => write!(f, "config line {line}: empty option name"),
            Self::DuplicateKey { line, key } => {
                write!(f, "config line {line}: `{key}` given twice in one entry")
            }
            Self::ModuleStringWithoutModule { line } => write!(
                f,
                "config line {line}: module string without a module_path before it"
            ),
            Self::UnsupportedPath { line } => write!(
                f,
                "config line {line}: only `boot():/path` or `/path` paths are supported"
            ),
            Self::NoLimineEntry => write!(f, "config has no entry with `protocol: limine`"),
            Self::NoKernelPath { line } => {
                write!(f, "config entry at line {line} has no kernel_path")
            }
        }
    }
}

/// Resolves a resource path: `boot():/x` and `/x` mean `/x` on the volume
/// holding the config (§9). Other resources and hash pins are refused.
fn resolve_path(value: &str, line: usize) -> Result<&str, ConfigError> {
    let path = value.strip_prefix("boot():").unwrap_or(value);
    if !path.starts_with('/') || path.contains('#') || path.len() < 2 {
        return Err(ConfigError::UnsupportedPath { line });
    }
    Ok(path)
}

/// Entry being collected while scanning.
struct Pending<'a> {
    name: &'a str,
    line: usize,
    is_limine: bool,
    kernel_path: Option<&'a str>,
    cmdline: Option<&'a str>,
    modules: Vec<ModuleSpec<'a>>,
    module_has_string: bool,
}

impl<'a> Pending<'a> {
    fn new(name: &'a str, line: usize) -> Self {
        Self {
            name,
            line,
            is_limine: false,
            kernel_path: None,
            cmdline: None,
            modules: Vec::new(),
            module_has_string: false,
        }
    }

    fn apply(&mut self, key: &str, value: &'a str, line: usize) -> Result<(), ConfigError> {
        let once = |slot: &mut Option<&'a str>, name: &'static str| match slot {
            Some(_) => Err(ConfigError::DuplicateKey { line, key: name }),
            None => {
                *slot = Some(value);
                Ok(())
            }
        };
        match key {
            "protocol" => self.is_limine = value.eq_ignore_ascii_case("limine"),
            "kernel_path" | "path" => {
                resolve_path(value, line)?;
                once(&mut self.kernel_path, "kernel_path")?;
            }
            "cmdline" | "kernel_cmdline" => once(&mut self.cmdline, "cmdline")?,
            "module_path" => {
                let path = resolve_path(value, line)?;
                self.modules.push(ModuleSpec { path, cmdline: "" });
                self.module_has_string = false;
            }
            "module_cmdline" | "module_string" => {
                let Some(last) = self.modules.last_mut() else {
                    return Err(ConfigError::ModuleStringWithoutModule { line });
                };
                if self.module_has_string {
                    return Err(ConfigError::DuplicateKey {
                        line,
                        key: "module_string",
                    });
                }
                last.cmdline = value;
                self.module_has_string = true;
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<Option<BootEntry<'a>>, ConfigError> {
        if !self.is_limine {
            return Ok(None);
        }
        let kernel_path = self
            .kernel_path
            .ok_or(ConfigError::NoKernelPath { line: self.line })?;
        Ok(Some(BootEntry {
            name: self.name,
            // Already validated in `apply`.
            kernel_path: resolve_path(kernel_path, self.line)?,
            cmdline: self.cmdline.unwrap_or(""),
            modules: self.modules,
        }))
    }
}

/// Parses `limine.conf` and returns the first `protocol: limine` entry.
///
/// Every line is checked for syntax, also in entries we do not boot, so a
/// typo anywhere is reported with its line number.
pub fn parse(text: &[u8]) -> Result<BootEntry<'_>, ConfigError> {
    let text = core::str::from_utf8(text).map_err(|_| ConfigError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut chosen: Option<BootEntry<'_>> = None;
    let mut current: Option<Pending<'_>> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.starts_with('/') {
            if let Some(done) = current.take() {
                let entry = done.finish()?;
                chosen = chosen.or(entry);
            }
            let name = trimmed
                .trim_start_matches('/')
                .trim_start_matches('+')
                .trim();
            current = Some(Pending::new(name, line));
            continue;
        }
        let Some((key, value)) = trimmed.split_once(':') else {
            return Err(ConfigError::MalformedLine { line });
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(ConfigError::EmptyKey { line });
        }
        if key.contains(char::is_whitespace) {
            return Err(ConfigError::MalformedLine { line });
        }
        let mut lower = [0u8; 32];
        let key = ascii_lower(key, &mut lower);
        if let Some(entry) = current.as_mut() {
            entry.apply(key, value.trim(), line)?;
        }
    }
    if let Some(done) = current.take() {
        let entry = done.finish()?;
        chosen = chosen.or(entry);
    }
    chosen.ok_or(ConfigError::NoLimineEntry)
}

/// Lower-cases an ASCII key into `buf`; keys longer than `buf` are returned
/// unchanged (no option we know is that long, so they stay unknown).
fn ascii_lower<'b>(key: &'b str, buf: &'b mut [u8; 32]) -> &'b str {
    let bytes = key.as_bytes();
    if bytes.len() > buf.len() || !key.is_ascii() {
        return key;
    }
    let out = &mut buf[..bytes.len()];
    out.copy_from_slice(bytes);
    out.make_ascii_lowercase();
    core::str::from_utf8(out).unwrap_or(key)
}

#[cfg(test)]
mod tests {
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
        let text = "/K\n: x\n";
        assert_eq!(
            parse(text.as_bytes()),
            Err(ConfigError::EmptyKey { line: 2 })
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

    #[test]
    fn display_mentions_the_line() {
        let msg = alloc::format!("{}", ConfigError::MalformedLine { line: 7 });
        assert!(msg.contains("line 7"), "{msg}");
    }
}
