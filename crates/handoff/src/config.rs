//! `limine.conf` parsing: picks the first `protocol: limine` entry (§9).
//!
//! Syntax (Limine 8.x): `name: value` lines, option names case-insensitive,
//! `#` comment lines, and a line starting with `/` opens a menu entry.
//! Options before the first entry (`timeout`, `serial`, ...) are global and
//! ignored by us; so are entry options we do not implement, and every entry
//! but the one we boot (see [`parse`]).

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

/// One non-blank, non-comment line.
enum Line<'a> {
    /// `/Title` (any number of slashes, optional `+`): opens an entry.
    Title(&'a str),
    /// `name: value`, both trimmed.
    Option(&'a str, &'a str),
    /// Anything else; an error only where we read options.
    Malformed(ConfigError),
}

fn classify(raw: &str, line: usize) -> Option<Line<'_>> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    if trimmed.starts_with('/') {
        let name = trimmed
            .trim_start_matches('/')
            .trim_start_matches('+')
            .trim();
        return Some(Line::Title(name));
    }
    let Some((key, value)) = trimmed.split_once(':') else {
        return Some(Line::Malformed(ConfigError::MalformedLine { line }));
    };
    let key = key.trim();
    if key.is_empty() {
        return Some(Line::Malformed(ConfigError::EmptyKey { line }));
    }
    if key.contains(char::is_whitespace) {
        return Some(Line::Malformed(ConfigError::MalformedLine { line }));
    }
    Some(Line::Option(key, value.trim()))
}

/// The lines of `text` with their 1-based numbers, classified.
fn lines(text: &str) -> impl Iterator<Item = (usize, Line<'_>)> {
    text.lines()
        .enumerate()
        .filter_map(|(index, raw)| classify(raw, index + 1).map(|l| (index + 1, l)))
}

/// The option names we read, matched ASCII case-insensitively.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Protocol,
    KernelPath,
    Cmdline,
    ModulePath,
    ModuleString,
    Other,
}

impl Key {
    fn of(name: &str) -> Self {
        let is = |k: &str| name.eq_ignore_ascii_case(k);
        if is("protocol") {
            Self::Protocol
        } else if is("kernel_path") || is("path") {
            Self::KernelPath
        } else if is("cmdline") || is("kernel_cmdline") {
            Self::Cmdline
        } else if is("module_path") {
            Self::ModulePath
        } else if is("module_cmdline") || is("module_string") {
            Self::ModuleString
        } else {
            Self::Other
        }
    }
}

/// Line number of the title of the entry we boot: the first whose first
/// `protocol` option is `limine` (Limine, too, reads the first occurrence
/// of an option). Nothing else is looked at.
fn booted_entry(text: &str) -> Option<usize> {
    let mut entry: Option<usize> = None;
    let mut protocol_seen = false;
    for (line, l) in lines(text) {
        match l {
            Line::Title(_) => {
                entry = Some(line);
                protocol_seen = false;
            }
            Line::Option(key, value)
                if entry.is_some() && !protocol_seen && Key::of(key) == Key::Protocol =>
            {
                protocol_seen = true;
                if value.eq_ignore_ascii_case("limine") {
                    return entry;
                }
            }
            _ => {}
        }
    }
    None
}

/// The booted entry while its options are read.
struct Pending<'a> {
    name: &'a str,
    line: usize,
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
            kernel_path: None,
            cmdline: None,
            modules: Vec::new(),
            module_has_string: false,
        }
    }

    fn apply(&mut self, key: Key, value: &'a str, line: usize) -> Result<(), ConfigError> {
        let once = |slot: &mut Option<&'a str>, value: &'a str, name: &'static str| match slot {
            Some(_) => Err(ConfigError::DuplicateKey { line, key: name }),
            None => {
                *slot = Some(value);
                Ok(())
            }
        };
        match key {
            // Decided by `booted_entry`; a later `protocol` line is not
            // read (Limine reads the first).
            Key::Protocol | Key::Other => {}
            Key::KernelPath => {
                let path = resolve_path(value, line)?;
                once(&mut self.kernel_path, path, "kernel_path")?;
            }
            Key::Cmdline => once(&mut self.cmdline, value, "cmdline")?,
            Key::ModulePath => {
                let path = resolve_path(value, line)?;
                self.modules.push(ModuleSpec { path, cmdline: "" });
                self.module_has_string = false;
            }
            Key::ModuleString => {
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
        }
        Ok(())
    }

    fn finish(self) -> Result<BootEntry<'a>, ConfigError> {
        let kernel_path = self
            .kernel_path
            .ok_or(ConfigError::NoKernelPath { line: self.line })?;
        Ok(BootEntry {
            name: self.name,
            kernel_path,
            cmdline: self.cmdline.unwrap_or(""),
            modules: self.modules,
        })
    }
}

/// Parses `limine.conf` and returns the first `protocol: limine` entry.
///
/// Only what we use is validated: the global lines before the first entry
/// must be `name: value` syntax, and the booted entry is checked in full
/// (syntax, paths, repeated keys, a `kernel_path`). Every other entry is
/// skipped but for its `protocol`: Limine resolves and checks an entry only
/// when it boots it, so another entry may name resources we cannot resolve
/// (`boot(1):`, `uuid(...)`), lack options or repeat them, and a config real
/// Limine boots must boot with us too.
pub fn parse(text: &[u8]) -> Result<BootEntry<'_>, ConfigError> {
    let text = core::str::from_utf8(text).map_err(|_| ConfigError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let booted = booted_entry(text);
    let mut in_globals = true;
    let mut current: Option<Pending<'_>> = None;
    for (line, l) in lines(text) {
        match l {
            Line::Title(name) => {
                if current.is_some() {
                    break;
                }
                in_globals = false;
                if booted == Some(line) {
                    current = Some(Pending::new(name, line));
                }
            }
            Line::Malformed(e) if in_globals || current.is_some() => return Err(e),
            Line::Option(key, value) => {
                if let Some(entry) = current.as_mut() {
                    entry.apply(Key::of(key), value, line)?;
                }
            }
            Line::Malformed(_) => {}
        }
    }
    current.ok_or(ConfigError::NoLimineEntry)?.finish()
}

#[cfg(test)]
mod tests;
