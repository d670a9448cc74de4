//! Module list: internal modules from the request, then config ones (§5).

use crate::bytes::u64_at;
use crate::config::BootEntry;
use crate::elf::LoadPlan;
use crate::requests::{self, FoundRequest};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Internal module flag: the module must exist (§5).
pub const FLAG_REQUIRED: u64 = 1 << 0;
/// Internal module flag: compressed (refused, §10 step 6).
pub const FLAG_COMPRESSED: u64 = 1 << 1;
/// Longest C string we read out of the kernel image.
const MAX_STRING: usize = 4096;
/// Most internal modules we accept.
const MAX_INTERNAL: u64 = 256;

/// A module to load, in response order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleToLoad {
    /// Absolute volume path.
    pub path: String,
    /// Module string ("" if unset).
    pub cmdline: String,
    /// A missing file is fatal (config modules always are).
    pub required: bool,
}

/// Why the module list could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleError {
    /// A pointer in the internal module table leaves the kernel image.
    BadPointer(u64),
    /// A string is not NUL-terminated within 4 KiB or not UTF-8.
    BadString(u64),
    /// Too many internal modules.
    TooMany(u64),
    /// Compressed internal modules are not supported.
    Compressed(String),
    /// The request itself is truncated.
    Request(requests::ScanError),
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadPointer(p) => {
                write!(
                    f,
                    "internal module table pointer {p:#x} is outside the kernel"
                )
            }
            Self::BadString(p) => write!(f, "internal module string at {p:#x} is malformed"),
            Self::TooMany(n) => write!(f, "kernel lists {n} internal modules (max {MAX_INTERNAL})"),
            Self::Compressed(p) => write!(f, "internal module {p} is compressed (unsupported)"),
            Self::Request(e) => write!(f, "{e}"),
        }
    }
}

fn read_ptr(image: &[u8], plan: &LoadPlan, vaddr: u64) -> Result<u64, ModuleError> {
    let off = plan
        .offset_of(vaddr, 8)
        .ok_or(ModuleError::BadPointer(vaddr))?;
    u64_at(image, off).ok_or(ModuleError::BadPointer(vaddr))
}

fn read_str(image: &[u8], plan: &LoadPlan, vaddr: u64) -> Result<String, ModuleError> {
    if vaddr == 0 {
        return Ok(String::new());
    }
    let off = plan
        .offset_of(vaddr, 1)
        .ok_or(ModuleError::BadPointer(vaddr))?;
    let tail = image.get(off..).ok_or(ModuleError::BadPointer(vaddr))?;
    let tail = &tail[..tail.len().min(MAX_STRING)];
    let nul = tail
        .iter()
        .position(|&b| b == 0)
        .ok_or(ModuleError::BadString(vaddr))?;
    let s = core::str::from_utf8(&tail[..nul]).map_err(|_| ModuleError::BadString(vaddr))?;
    Ok(String::from(s))
}

/// Resolves an internal module path: absolute as is, relative against
/// the kernel file's directory (§5).
#[must_use]
pub fn resolve(kernel_path: &str, path: &str) -> String {
    if path.starts_with('/') {
        return String::from(path);
    }
    let dir = kernel_path.rfind('/').map_or("", |i| &kernel_path[..i]);
    let mut out = String::from(dir);
    out.push('/');
    out.push_str(path);
    out
}

/// Builds the ordered module list: the request's internal modules (if
/// it is revision ≥ 1), then the config's `module_path` entries (§5).
pub fn collect(
    image: &[u8],
    plan: &LoadPlan,
    request: Option<&FoundRequest>,
    entry: &BootEntry<'_>,
) -> Result<Vec<ModuleToLoad>, ModuleError> {
    let mut out = Vec::new();
    if let Some(req) = request.filter(|r| r.revision >= 1) {
        let count = requests::field(image, req, 48).map_err(ModuleError::Request)?;
        let table = requests::field(image, req, 56).map_err(ModuleError::Request)?;
        if count > MAX_INTERNAL {
            return Err(ModuleError::TooMany(count));
        }
        for i in 0..count {
            let module = read_ptr(image, plan, table.wrapping_add(8 * i))?;
            let path = read_str(image, plan, read_ptr(image, plan, module)?)?;
            let cmdline = read_str(image, plan, read_ptr(image, plan, module.wrapping_add(8))?)?;
            let flags = read_ptr(image, plan, module.wrapping_add(16))?;
            if flags & FLAG_COMPRESSED != 0 {
                return Err(ModuleError::Compressed(path));
            }
            out.push(ModuleToLoad {
                path: resolve(entry.kernel_path, &path),
                cmdline,
                required: flags & FLAG_REQUIRED != 0,
            });
        }
    }
    for m in &entry.modules {
        out.push(ModuleToLoad {
            path: String::from(m.path),
            cmdline: String::from(m.cmdline),
            required: true,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModuleSpec;
    use crate::elf::{self, tests::Phdr};
    use crate::requests::{Feature, COMMON_MAGIC};

    const K: u64 = elf::KERNEL_MIN_VADDR;

    fn entry() -> BootEntry<'static> {
        BootEntry {
            name: "t",
            kernel_path: "/boot/kernel.elf",
            cmdline: "",
            modules: alloc::vec![ModuleSpec {
                path: "/boot/initrd",
                cmdline: "init"
            }],
        }
    }

    /// Image with a modules request (rev 1) at offset 0x100 pointing at two
    /// internal modules.
    fn image() -> (Vec<u8>, LoadPlan) {
        let file = elf::tests::build(
            K,
            &[Phdr {
                kind: 1,
                flags: elf::PF_R | elf::PF_W | elf::PF_X,
                vaddr: K,
                filesz: 0x1000,
                memsz: 0x1000,
                align: 0x1000,
            }],
        );
        let plan = elf::plan(&file).unwrap();
        let mut img = alloc::vec![0u8; 0x1000];
        let mut put = |off: usize, v: u64| img[off..off + 8].copy_from_slice(&v.to_le_bytes());
        let id = Feature::Modules.id();
        for (i, w) in [
            COMMON_MAGIC[0],
            COMMON_MAGIC[1],
            id[0],
            id[1],
            1,
            0,
            2,
            K + 0x200,
        ]
        .iter()
        .enumerate()
        {
            put(0x100 + 8 * i, *w);
        }
        put(0x200, K + 0x300);
        put(0x208, K + 0x320);
        put(0x300, K + 0x400);
        put(0x308, K + 0x410);
        put(0x310, FLAG_REQUIRED);
        put(0x320, K + 0x420);
        put(0x328, 0);
        put(0x330, 0);
        img[0x400..0x408].copy_from_slice(b"font.psf");
        img[0x410..0x414].copy_from_slice(b"font");
        img[0x420..0x42a].copy_from_slice(b"/etc/motd\0");
        (img, plan)
    }

    #[test]
    fn internal_then_config_modules() {
        let (img, plan) = image();
        let req = requests::scan(&img).unwrap().get(Feature::Modules).unwrap();
        let list = collect(&img, &plan, Some(&req), &entry()).unwrap();
        let paths: Vec<_> = list.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, ["/boot/font.psf", "/etc/motd", "/boot/initrd"]);
        assert_eq!(list[0].cmdline, "font");
        assert!(list[0].required && !list[1].required && list[2].required);
    }

    #[test]
    fn bad_pointers_and_flags_are_errors() {
        let (mut img, plan) = image();
        img[0x208..0x210].copy_from_slice(&0x1234u64.to_le_bytes());
        let req = requests::scan(&img).unwrap().get(Feature::Modules).unwrap();
        assert_eq!(
            collect(&img, &plan, Some(&req), &entry()),
            Err(ModuleError::BadPointer(0x1234))
        );
        let (mut img, plan) = image();
        img[0x310] = 3;
        assert_eq!(
            collect(&img, &plan, Some(&req), &entry()),
            Err(ModuleError::Compressed(String::from("font.psf")))
        );
    }

    #[test]
    fn revision_zero_ignores_internal_modules() {
        let (mut img, plan) = image();
        img[0x120] = 0;
        let req = requests::scan(&img).unwrap().get(Feature::Modules).unwrap();
        let list = collect(&img, &plan, Some(&req), &entry()).unwrap();
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn resolve_relative_paths() {
        assert_eq!(resolve("/boot/kernel.elf", "a/b"), "/boot/a/b");
        assert_eq!(resolve("/kernel.elf", "x"), "/x");
        assert_eq!(resolve("/boot/kernel.elf", "/abs"), "/abs");
    }
}
