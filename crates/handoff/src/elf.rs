//! ELF64 kernel validation and load planning (§7, §10 step 4).
//!
//! Every offset and size read from the file is bounds-checked: a malformed
//! file yields an [`ElfError`], never a panic.

use crate::bytes::{u16_at, u32_at, u64_at};
use crate::{align_down, align_up, PAGE_SIZE};
use core::fmt;

/// Lowest virtual address a non-relocatable kernel may use (§7).
pub const KERNEL_MIN_VADDR: u64 = 0xffff_ffff_8000_0000;
/// Most PT_LOAD segments we accept (bounds the pairwise checks).
pub const MAX_SEGMENTS: usize = 32;

/// `e_machine` for x86-64 (System V ABI AMD64 supplement).
const EM_X86_64: u16 = 62;
/// `e_type` values (ELF gABI).
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
/// Program header type of a loadable segment (ELF gABI).
const PT_LOAD: u32 = 1;
/// Segment permission bits (ELF gABI).
pub const PF_X: u32 = 1;
/// Writable segment.
pub const PF_W: u32 = 2;
/// Readable segment.
pub const PF_R: u32 = 4;
/// Size of the ELF64 file header and of one program header (ELF gABI).
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;

/// Why the kernel file cannot be loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfError {
    /// Shorter than an ELF header.
    TooShort,
    /// No `\x7fELF` magic.
    BadMagic,
    /// Not ELFCLASS64.
    NotElf64,
    /// Not little-endian.
    NotLittleEndian,
    /// `e_machine` is not x86-64.
    WrongMachine(u16),
    /// ET_DYN: relocatable kernels are not supported.
    Relocatable,
    /// Neither ET_EXEC nor ET_DYN.
    NotExecutable(u16),
    /// `e_phentsize` is not 56.
    BadPhentsize(u16),
    /// The program header table lies (partly) outside the file.
    PhdrsOutOfBounds,
    /// No PT_LOAD with a non-zero memory size.
    NoLoadSegments,
    /// More than [`MAX_SEGMENTS`] PT_LOADs.
    TooManySegments,
    /// Segment `index` has `p_filesz > p_memsz`.
    FileSizeExceedsMemSize(usize),
    /// Segment `index` has file data outside the file.
    SegmentOutOfFile(usize),
    /// Segment `index` lies below [`KERNEL_MIN_VADDR`] or wraps around.
    SegmentNotHigherHalf(usize),
    /// Segment `index` has a `p_align` that is not a power of two.
    BadAlignment(usize),
    /// Segments `a` and `b` overlap in virtual memory.
    Overlap(usize, usize),
    /// Segments `a` and `b` share a 4 KiB page with different permissions.
    SharedPage(usize, usize),
    /// The entry point is not inside an executable PT_LOAD.
    EntryNotExecutable(u64),
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooShort => write!(f, "kernel ELF is shorter than its header"),
            Self::BadMagic => write!(f, "kernel is not an ELF file (bad magic)"),
            Self::NotElf64 => write!(f, "kernel ELF is not 64-bit"),
            Self::NotLittleEndian => write!(f, "kernel ELF is not little-endian"),
            Self::WrongMachine(m) => write!(f, "kernel ELF e_machine is {m}, not x86-64 (62)"),
            Self::Relocatable => write!(
                f,
                "kernel ELF is ET_DYN; relocatable kernels are not supported, link ET_EXEC"
            ),
            Self::NotExecutable(t) => write!(f, "kernel ELF e_type is {t}, not ET_EXEC"),
            Self::BadPhentsize(s) => write!(f, "kernel ELF program header size is {s}, not 56"),
            Self::PhdrsOutOfBounds => write!(f, "kernel ELF program headers lie outside the file"),
            Self::NoLoadSegments => write!(f, "kernel ELF has no loadable segment"),
            Self::TooManySegments => {
                write!(
                    f,
                    "kernel ELF has more than {MAX_SEGMENTS} PT_LOAD segments"
                )
            }
            Self::FileSizeExceedsMemSize(i) => {
                write!(f, "kernel ELF segment {i}: file size exceeds memory size")
            }
            Self::SegmentOutOfFile(i) => {
                write!(f, "kernel ELF segment {i}: data lies outside the file")
            }
            Self::SegmentNotHigherHalf(i) => write!(
                f,
                "kernel ELF segment {i}: not inside the top 2 GiB (>= {KERNEL_MIN_VADDR:#x})"
            ),
            Self::BadAlignment(i) => {
                write!(f, "kernel ELF segment {i}: alignment is not a power of two")
            }
            Self::Overlap(a, b) => write!(f, "kernel ELF segments {a} and {b} overlap"),
            Self::SharedPage(a, b) => write!(
                f,
                "kernel ELF segments {a} and {b} share a 4 KiB page with different permissions"
            ),
            Self::EntryNotExecutable(e) => {
                write!(f, "kernel ELF entry {e:#x} is not in an executable segment")
            }
        }
    }
}

/// One validated PT_LOAD segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Segment {
    /// Index of the program header in the file.
    pub index: usize,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_memsz` (non-zero).
    pub memsz: u64,
    /// `p_filesz` (≤ `memsz`).
    pub filesz: u64,
    /// `p_offset`.
    pub offset: u64,
    /// `p_flags` (`PF_R`/`PF_W`/`PF_X`).
    pub flags: u32,
}

impl Segment {
    /// Exclusive virtual end (validated not to overflow).
    #[must_use]
    pub fn end(&self) -> u64 {
        self.vaddr + self.memsz
    }

    /// First and one-past-last 4 KiB page address this segment touches.
    #[must_use]
    pub fn page_span(&self) -> (u64, u64) {
        let start = align_down(self.vaddr, PAGE_SIZE);
        // `plan` refuses segments whose rounded end would overflow.
        let end = align_up(self.end(), PAGE_SIZE).unwrap_or(u64::MAX);
        (start, end)
    }

    /// Whether the segment may be written.
    #[must_use]
    pub fn writable(&self) -> bool {
        self.flags & PF_W != 0
    }

    /// Whether the segment may be executed.
    #[must_use]
    pub fn executable(&self) -> bool {
        self.flags & PF_X != 0
    }
}

/// How to place a validated kernel image in memory (§10 step 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadPlan {
    /// `e_entry`.
    pub entry: u64,
    /// Lowest PT_LOAD `p_vaddr` (the executable address response's
    /// `virtual_base`).
    pub min_vaddr: u64,
    /// Page-aligned virtual address that the start of the physical block
    /// backs (`min_vaddr` rounded down to 4 KiB).
    pub base_vaddr: u64,
    /// Size of the physical block in bytes (whole pages).
    pub image_size: u64,
    /// Largest `p_align` (at least 4 KiB): physical alignment of the block.
    pub align: u64,
    /// Bytes from `base_vaddr` that are file-backed and therefore scanned for
    /// requests (§3: image minus the trailing `.bss` of the last PT_LOAD).
    pub scan_size: u64,
    segments: [Segment; MAX_SEGMENTS],
    count: usize,
}

impl LoadPlan {
    /// The loadable segments, in program-header order.
    #[must_use]
    pub fn segments(&self) -> &[Segment] {
        &self.segments[..self.count]
    }

    /// Number of 4 KiB pages in the physical block.
    #[must_use]
    pub fn pages(&self) -> u64 {
        self.image_size / PAGE_SIZE
    }

    /// Offset into the block of kernel virtual address `vaddr`, if it and
    /// the following `len` bytes lie inside some segment's memory.
    #[must_use]
    pub fn offset_of(&self, vaddr: u64, len: u64) -> Option<usize> {
        let end = vaddr.checked_add(len)?;
        self.segments()
            .iter()
            .find(|s| vaddr >= s.vaddr && end <= s.end())
            .and_then(|_| usize::try_from(vaddr - self.base_vaddr).ok())
    }

    /// Copies every segment's file bytes into `image` (the zeroed physical
    /// block, `image_size` bytes long). Bytes past `p_filesz` stay zero.
    pub fn copy_segments(&self, file: &[u8], image: &mut [u8]) -> Result<(), ElfError> {
        for seg in self.segments() {
            let src = range(seg.offset, seg.filesz)
                .and_then(|r| file.get(r))
                .ok_or(ElfError::SegmentOutOfFile(seg.index))?;
            let dst = range(seg.vaddr - self.base_vaddr, seg.filesz)
                .and_then(|r| image.get_mut(r))
                .ok_or(ElfError::SegmentOutOfFile(seg.index))?;
            dst.copy_from_slice(src);
        }
        Ok(())
    }
}

/// `start..start+len` as a `usize` range, if representable.
fn range(start: u64, len: u64) -> Option<core::ops::Range<usize>> {
    let start = usize::try_from(start).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    Some(start..end)
}

/// Validates the kernel ELF (§10 step 4) and returns its load plan.
pub fn plan(file: &[u8]) -> Result<LoadPlan, ElfError> {
    if file.len() < EHDR_SIZE {
        return Err(ElfError::TooShort);
    }
    if file[..4] != *b"\x7fELF" {
        return Err(ElfError::BadMagic);
    }
    if file[4] != 2 {
        return Err(ElfError::NotElf64);
    }
    if file[5] != 1 {
        return Err(ElfError::NotLittleEndian);
    }
    let header = |off| u16_at(file, off).ok_or(ElfError::TooShort);
    let e_type = header(16)?;
    let e_machine = header(18)?;
    if e_machine != EM_X86_64 {
        return Err(ElfError::WrongMachine(e_machine));
    }
    match e_type {
        ET_EXEC => {}
        ET_DYN => return Err(ElfError::Relocatable),
        other => return Err(ElfError::NotExecutable(other)),
    }
    let entry = u64_at(file, 24).ok_or(ElfError::TooShort)?;
    let phoff = u64_at(file, 32).ok_or(ElfError::TooShort)?;
    let phentsize = header(54)?;
    let phnum = header(56)?;
    if usize::from(phentsize) != PHDR_SIZE && phnum != 0 {
        return Err(ElfError::BadPhentsize(phentsize));
    }
    let table = range(phoff, u64::from(phnum) * PHDR_SIZE as u64)
        .and_then(|r| file.get(r))
        .ok_or(ElfError::PhdrsOutOfBounds)?;

    let mut segments = [Segment::default(); MAX_SEGMENTS];
    let mut count = 0;
    let mut align = PAGE_SIZE;
    for (index, ph) in table.chunks_exact(PHDR_SIZE).enumerate() {
        let field = |off| u64_at(ph, off).ok_or(ElfError::PhdrsOutOfBounds);
        if u32_at(ph, 0) != Some(PT_LOAD) {
            continue;
        }
        let seg = Segment {
            index,
            flags: u32_at(ph, 4).ok_or(ElfError::PhdrsOutOfBounds)?,
            offset: field(8)?,
            vaddr: field(16)?,
            filesz: field(32)?,
            memsz: field(40)?,
        };
        let p_align = field(48)?;
        if seg.memsz == 0 {
            continue;
        }
        if seg.filesz > seg.memsz {
            return Err(ElfError::FileSizeExceedsMemSize(index));
        }
        if range(seg.offset, seg.filesz).is_none_or(|r| r.end > file.len()) {
            return Err(ElfError::SegmentOutOfFile(index));
        }
        let rounded_end = seg
            .vaddr
            .checked_add(seg.memsz)
            .and_then(|end| align_up(end, PAGE_SIZE));
        if seg.vaddr < KERNEL_MIN_VADDR || rounded_end.is_none() {
            return Err(ElfError::SegmentNotHigherHalf(index));
        }
        if p_align > 1 && !p_align.is_power_of_two() {
            return Err(ElfError::BadAlignment(index));
        }
        align = align.max(p_align);
        if count == MAX_SEGMENTS {
            return Err(ElfError::TooManySegments);
        }
        segments[count] = seg;
        count += 1;
    }
    let segs = &segments[..count];
    let (first, last) = match (
        segs.iter().min_by_key(|s| s.vaddr),
        segs.iter().max_by_key(|s| s.end()),
    ) {
        (Some(first), Some(last)) => (first, last),
        _ => return Err(ElfError::NoLoadSegments),
    };
    check_pairs(segs)?;
    if !segs
        .iter()
        .any(|s| s.executable() && entry >= s.vaddr && entry < s.end())
    {
        return Err(ElfError::EntryNotExecutable(entry));
    }
    let base_vaddr = align_down(first.vaddr, PAGE_SIZE);
    let image_end = last.page_span().1 - base_vaddr;
    Ok(LoadPlan {
        entry,
        min_vaddr: first.vaddr,
        base_vaddr,
        image_size: image_end,
        align,
        scan_size: last.vaddr + last.filesz - base_vaddr,
        segments,
        count,
    })
}

/// Rejects overlapping segments and pages shared by differing permissions.
fn check_pairs(segs: &[Segment]) -> Result<(), ElfError> {
    for (i, a) in segs.iter().enumerate() {
        for b in &segs[i + 1..] {
            if a.vaddr < b.end() && b.vaddr < a.end() {
                return Err(ElfError::Overlap(a.index, b.index));
            }
            let (a0, a1) = a.page_span();
            let (b0, b1) = b.page_span();
            let pages_meet = a0 < b1 && b0 < a1;
            let perms = PF_R | PF_W | PF_X;
            if pages_meet && (a.flags & perms) != (b.flags & perms) {
                return Err(ElfError::SharedPage(a.index, b.index));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// A PT_LOAD description for [`build`].
    #[derive(Clone, Copy, Debug)]
    pub struct Phdr {
        pub kind: u32,
        pub flags: u32,
        pub vaddr: u64,
        pub filesz: u64,
        pub memsz: u64,
        pub align: u64,
    }

    /// Builds an ELF64 x86-64 ET_EXEC whose segments' file bytes follow the
    /// headers, filled with `fill(i)` for segment `i`.
    pub fn build(entry: u64, phdrs: &[Phdr]) -> Vec<u8> {
        let mut out = alloc::vec![0u8; EHDR_SIZE + PHDR_SIZE * phdrs.len()];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2;
        out[5] = 1;
        out[6] = 1;
        out[16..18].copy_from_slice(&ET_EXEC.to_le_bytes());
        out[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        out[24..32].copy_from_slice(&entry.to_le_bytes());
        out[32..40].copy_from_slice(&(EHDR_SIZE as u64).to_le_bytes());
        out[52..54].copy_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
        out[54..56].copy_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
        out[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        for (i, p) in phdrs.iter().enumerate() {
            let offset = out.len() as u64;
            out.extend(core::iter::repeat_n(
                0x11 * (i as u8 + 1),
                p.filesz as usize,
            ));
            let h = EHDR_SIZE + i * PHDR_SIZE;
            out[h..h + 4].copy_from_slice(&p.kind.to_le_bytes());
            out[h + 4..h + 8].copy_from_slice(&p.flags.to_le_bytes());
            out[h + 8..h + 16].copy_from_slice(&offset.to_le_bytes());
            out[h + 16..h + 24].copy_from_slice(&p.vaddr.to_le_bytes());
            out[h + 24..h + 32].copy_from_slice(&p.vaddr.to_le_bytes());
            out[h + 32..h + 40].copy_from_slice(&p.filesz.to_le_bytes());
            out[h + 40..h + 48].copy_from_slice(&p.memsz.to_le_bytes());
            out[h + 48..h + 56].copy_from_slice(&p.align.to_le_bytes());
        }
        out
    }

    const K: u64 = KERNEL_MIN_VADDR;

    fn load(flags: u32, vaddr: u64, filesz: u64, memsz: u64) -> Phdr {
        Phdr {
            kind: PT_LOAD,
            flags,
            vaddr,
            filesz,
            memsz,
            align: 0x1000,
        }
    }

    /// The Ferrite kernel's shape: text, rodata, data+bss, guard hole, stack.
    pub fn kernel_like() -> Vec<u8> {
        build(
            K + 0x10,
            &[
                load(PF_R | PF_X, K, 0x1800, 0x1800),
                load(PF_R, K + 0x2000, 0x300, 0x300),
                load(PF_R | PF_W, K + 0x3000, 0x200, 0x5000),
                load(PF_R | PF_W, K + 0x9000, 0, 0x4000),
            ],
        )
    }

    #[test]
    fn plans_kernel_shaped_image() {
        let file = kernel_like();
        let plan = plan(&file).unwrap();
        assert_eq!(plan.entry, K + 0x10);
        assert_eq!(plan.min_vaddr, K);
        assert_eq!(plan.image_size, 0xd000);
        assert_eq!(plan.segments().len(), 4);
        // Last PT_LOAD (stack) is all bss: the scan stops where it starts.
        assert_eq!(plan.scan_size, 0x9000);
        let mut image = alloc::vec![0u8; plan.image_size as usize];
        plan.copy_segments(&file, &mut image).unwrap();
        assert_eq!(image[0], 0x11);
        assert_eq!(image[0x17ff], 0x11);
        assert_eq!(image[0x1800], 0);
        assert_eq!(image[0x2000], 0x22);
        assert_eq!(image[0x3000], 0x33);
        assert_eq!(image[0x3200], 0);
        assert_eq!(plan.offset_of(K + 0x3008, 8), Some(0x3008));
        assert_eq!(
            plan.offset_of(K + 0x8000, 8),
            None,
            "guard hole is in no segment"
        );
    }

    #[test]
    fn header_checks() {
        let good = kernel_like();
        assert_eq!(plan(&good[..10]), Err(ElfError::TooShort));
        let mut f = good.clone();
        f[0] = 0;
        assert_eq!(plan(&f), Err(ElfError::BadMagic));
        let mut f = good.clone();
        f[4] = 1;
        assert_eq!(plan(&f), Err(ElfError::NotElf64));
        let mut f = good.clone();
        f[5] = 2;
        assert_eq!(plan(&f), Err(ElfError::NotLittleEndian));
        let mut f = good.clone();
        f[18] = 3;
        assert_eq!(plan(&f), Err(ElfError::WrongMachine(3)));
        let mut f = good.clone();
        f[16] = 3;
        assert_eq!(plan(&f), Err(ElfError::Relocatable));
        let mut f = good.clone();
        f[16] = 1;
        assert_eq!(plan(&f), Err(ElfError::NotExecutable(1)));
        let mut f = good.clone();
        f[32] = 0xff;
        f[33] = 0xff;
        assert_eq!(plan(&f), Err(ElfError::PhdrsOutOfBounds));
        let mut f = good;
        f[54] = 40;
        assert_eq!(plan(&f), Err(ElfError::BadPhentsize(40)));
    }

    #[test]
    fn segment_checks() {
        let x = PF_R | PF_X;
        let rw = PF_R | PF_W;
        let cases: [(&[Phdr], ElfError); 6] = [
            (
                &[load(x, 0x40_0000, 0x10, 0x10)],
                ElfError::SegmentNotHigherHalf(0),
            ),
            (
                &[load(x, K, 0x20, 0x10)],
                ElfError::FileSizeExceedsMemSize(0),
            ),
            (
                &[load(x, K, 0x2000, 0x2000), load(rw, K + 0x1000, 0x10, 0x10)],
                ElfError::Overlap(0, 1),
            ),
            (
                &[load(x, K, 0x800, 0x800), load(rw, K + 0x800, 0x10, 0x10)],
                ElfError::SharedPage(0, 1),
            ),
            (&[load(rw, K, 0x10, 0x10)], ElfError::EntryNotExecutable(K)),
            (
                &[load(x, u64::MAX - 0x10, 0, 0x20)],
                ElfError::SegmentNotHigherHalf(0),
            ),
        ];
        for (phdrs, err) in cases {
            assert_eq!(plan(&build(K, phdrs)), Err(err), "{phdrs:?}");
        }
        assert_eq!(plan(&build(K, &[])), Err(ElfError::NoLoadSegments));
        // Same permissions may share a page.
        let ok = build(
            K,
            &[load(x, K, 0x800, 0x800), load(x, K + 0x800, 0x10, 0x10)],
        );
        assert!(plan(&ok).is_ok());
    }

    #[test]
    fn truncated_segment_data_is_reported() {
        let file = kernel_like();
        let short = &file[..file.len() - 1];
        assert!(matches!(plan(short), Err(ElfError::SegmentOutOfFile(_))));
    }

    #[test]
    fn errors_display() {
        let msg = alloc::format!("{}", ElfError::SharedPage(1, 2));
        assert!(msg.contains("segments 1 and 2"), "{msg}");
    }
}
