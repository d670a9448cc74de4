//! User call stacks: where a faulting ring-3 thread was, frame by frame.
//!
//! The walk reads the faulting process's own memory (the current address
//! space, through the checked user copies) and unwinds each frame with the
//! Windows x64 unwind data (`.pdata`/`.xdata`) of the image it lies in, as
//! every PE32+ image built here carries it. Each frame is shown as the
//! module plus an offset, named by the image's COFF symbol table (the
//! build links with `/DEBUG:SYMTAB`) or else its nearest export, from the
//! image's file among the boot modules.
#![forbid(unsafe_code)]

use crate::arch::exceptions::Fault;
use crate::mm::user_copy;
use crate::task::LoadedImage;
use alloc::string::String;
use alloc::vec::Vec;
use unwind::windows::{self, Image};
use unwind::{Memory, Registers};

/// Frames walked at most.
const MAX_FRAMES: usize = 32;

/// The current process's memory, read through the user-copy routines.
struct UserMemory;

impl Memory for UserMemory {
    fn read_u64(&self, address: u64) -> Option<u64> {
        let mut bytes = [0u8; 8];
        user_copy::read(address, &mut bytes).ok()?;
        Some(u64::from_le_bytes(bytes))
    }

    fn read_u8(&self, address: u64) -> Option<u8> {
        let mut byte = [0u8; 1];
        user_copy::read(address, &mut byte).ok()?;
        Some(byte[0])
    }
}

fn read_u32(address: u64) -> Option<u32> {
    let mut bytes = [0u8; 4];
    user_copy::read(address, &mut bytes).ok()?;
    Some(u32::from_le_bytes(bytes))
}

/// The exception directory (data directory 3) of the image mapped at
/// `base`, read from its headers in memory (PE format: `e_lfanew` at 0x3c,
/// the PE32+ optional header after the 24-byte signature and file header,
/// its data directories from offset 112).
fn exception_directory(base: u64) -> Option<(u32, u32)> {
    let nt = base.checked_add(u64::from(read_u32(base + 0x3c)?))?;
    if read_u32(nt)? != 0x0000_4550 {
        return None;
    }
    let optional = nt + 24;
    let magic = read_u32(optional)? & 0xffff;
    let count = read_u32(optional + 108)?;
    if magic != 0x20b || count <= 3 {
        return None;
    }
    let entry = optional + 112 + 3 * 8;
    Some((read_u32(entry)?, read_u32(entry + 4)?))
}

/// One user frame: its address, and where it lies.
#[derive(Clone, Copy, Debug, Default)]
pub struct UserFrame<'a> {
    /// The instruction (first frame) or return address.
    pub rip: u64,
    /// The image's name and the offset into it.
    pub module: Option<(&'a str, u64)>,
    /// The function (raw name, as the image's tables hold it) and the
    /// offset into it.
    pub symbol: Option<(&'static str, u32)>,
}

impl core::fmt::Display for UserFrame<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:#018x}", self.rip)?;
        match &self.module {
            Some((name, offset)) => write!(f, " {name}+{offset:#x}")?,
            None => write!(f, " (in no image)")?,
        }
        if let Some((name, offset)) = &self.symbol {
            write!(f, " {}+{offset:#x}", symbolize::demangled(name))?;
        }
        Ok(())
    }
}

/// The image of `images` that holds `pc`.
fn image_at(images: &[LoadedImage], pc: u64) -> Option<&LoadedImage> {
    images.iter().find(|i| pc >= i.base && pc - i.base < i.size)
}

/// Names `rip` (looked up as `pc`: the instruction, or a return address
/// minus one) in the process's `images`.
fn locate(images: &[LoadedImage], rip: u64, pc: u64) -> UserFrame<'_> {
    let image = image_at(images, pc);
    let symbol = image.and_then(|i| {
        let file = crate::pe::find_file(crate::boot::info()?, &i.name)?;
        let rva = u32::try_from(pc - i.base).ok()?;
        let s = ::pe::nearest_symbol(file, rva)?;
        Some((s.name, s.offset + u32::from(rip != pc)))
    });
    UserFrame {
        rip,
        module: image.map(|i| (i.name.as_str(), rip - i.base)),
        symbol,
    }
}

/// Walks the faulting thread's stack from the fault's registers over the
/// process's `images`; returns how many frames it put in `out`.
fn walk<'a>(fault: &Fault, images: &'a [LoadedImage], out: &mut [UserFrame<'a>]) -> usize {
    let mut regs: Registers = crate::arch::backtrace::trap_registers(&fault.frame);
    let mut count = 0;
    let mut first = true;
    while count < out.len() {
        let pc = if first {
            regs.rip
        } else {
            regs.rip.wrapping_sub(1)
        };
        out[count] = locate(images, regs.rip, pc);
        count += 1;
        let Some(image) = image_at(images, pc) else {
            break;
        };
        let Some((pdata_rva, pdata_size)) = exception_directory(image.base) else {
            break;
        };
        let image = Image {
            base: image.base,
            size: image.size,
            pdata_rva,
            pdata_size,
        };
        // Unwind data is looked up by the return address minus one, as a
        // call may be the last instruction of its function.
        let mut lookup = regs;
        lookup.rip = pc;
        if windows::step(&image, &mut lookup, &UserMemory).is_err() {
            break;
        }
        regs = lookup;
        first = false;
    }
    count
}

/// `args` formatted into a new string, or `None` if the heap cannot
/// hold it (a user fault must never end in an allocation panic).
fn try_format(args: core::fmt::Arguments<'_>) -> Option<String> {
    struct Count(usize);
    impl core::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut count = Count(0);
    core::fmt::write(&mut count, args).ok()?;
    let mut text = String::new();
    text.try_reserve_exact(count.0).ok()?;
    core::fmt::write(&mut text, args).ok()?;
    Some(text)
}

/// Logs the call stack of the current thread's fault, and returns it one
/// line per frame (empty if the heap is too full to keep it).
pub fn report(fault: &Fault) -> Vec<String> {
    crate::task::with_current(|p| {
        let images = p.images();
        let mut frames = [UserFrame::default(); MAX_FRAMES];
        let count = walk(fault, images, &mut frames);
        let frames = &frames[..count];
        crate::logger::block(format_args!("user call stack (innermost first):\n"));
        for (i, frame) in frames.iter().enumerate() {
            crate::logger::block(format_args!("  #{i:<2} {frame}\n"));
        }
        let mut lines = Vec::new();
        if lines.try_reserve_exact(count).is_err() {
            return Vec::new();
        }
        for frame in frames {
            match try_format(format_args!("{frame}")) {
                Some(line) => lines.push(line),
                None => return Vec::new(),
            }
        }
        lines
    })
    .unwrap_or_default()
}
