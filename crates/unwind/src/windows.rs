//! Windows x64 unwinding from a PE32+ image's `.pdata`/`.xdata`.
//!
//! Follows Microsoft's "x64 exception handling" (the `RUNTIME_FUNCTION`,
//! `UNWIND_INFO` and `UNWIND_CODE` layouts and the unwind procedure):
//!
//! 1. The `RUNTIME_FUNCTION` covering the instruction pointer is found by a
//!    binary search of the exception directory (`.pdata`, sorted by
//!    `BeginAddress`). Without one the function is a leaf: the return
//!    address is at `[RSP]`.
//! 2. The unwind codes are undone in array order (the reverse of the
//!    prolog). In the primary entry a code whose `CodeOffset` lies beyond
//!    the instruction pointer's offset into the function has not run yet
//!    and is skipped; chained entries (`UNW_FLAG_CHAININFO`) describe a
//!    prolog that ran completely and are undone in full.
//! 3. Saves (`UWOP_SAVE_NONVOL*`) are relative to the establisher frame:
//!    the frame register minus `FrameOffset * 16` once the prolog has set
//!    it (`UWOP_SET_FPREG`), the stack pointer before undoing otherwise.
//! 4. The return address is popped from `[RSP]`, unless a machine frame
//!    (`UWOP_PUSH_MACHFRAME`) gave RIP and RSP.
//!
//! Every byte of unwind data is read through the [`Memory`] from the image
//! as it is mapped, and must lie inside the image.
//!
//! # Limits
//! - **No epilogue detection.** An instruction pointer inside an epilogue
//!   (after some registers were popped again) is unwound as if it were in
//!   the body, so that frame and the ones above it may come out wrong.
//!   Version 2 `UWOP_EPILOG` codes are accepted and ignored.
//! - XMM saves are checked for shape and otherwise ignored: [`Registers`]
//!   tracks no vector registers.
//! - Indirect entries (an `UnwindInfoAddress` with bit 0 set) and unwind
//!   information that is not 4-byte aligned are refused as malformed, as
//!   are pushes or saves of RSP itself and codes after a machine frame.

use crate::{reg, Memory, Registers, StopReason};

/// Where a loaded PE image and its exception directory lie in the unwound
/// process's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Image {
    /// The address the image is loaded at.
    pub base: u64,
    /// `SizeOfImage`: instruction pointers and unwind data must lie below
    /// `base + size`.
    pub size: u64,
    /// RVA of the exception directory (data directory 3, `.pdata`).
    pub pdata_rva: u32,
    /// Size in bytes of the exception directory.
    pub pdata_size: u32,
}

/// Most chained `UNWIND_INFO` entries followed after the primary one.
pub const MAX_CHAIN: usize = 32;

/// Size of one `RUNTIME_FUNCTION` (three `u32` RVAs).
const RUNTIME_FUNCTION_SIZE: u32 = 12;
/// `UNW_FLAG_CHAININFO`: a `RUNTIME_FUNCTION` follows the codes.
const UNW_FLAG_CHAININFO: u8 = 4;

/// `UNWIND_CODE` operations (`UnwindOp`).
mod op {
    pub const PUSH_NONVOL: u8 = 0;
    pub const ALLOC_LARGE: u8 = 1;
    pub const ALLOC_SMALL: u8 = 2;
    pub const SET_FPREG: u8 = 3;
    pub const SAVE_NONVOL: u8 = 4;
    pub const SAVE_NONVOL_FAR: u8 = 5;
    pub const EPILOG: u8 = 6;
    pub const SAVE_XMM128: u8 = 8;
    pub const SAVE_XMM128_FAR: u8 = 9;
    pub const PUSH_MACHFRAME: u8 = 10;
}

/// DWARF number of each Windows register number (`OpInfo`,
/// `FrameRegister`): RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8–R15.
const WIN_TO_DWARF: [usize; 16] = [0, 2, 1, 3, 7, 6, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15];

/// Registers a Windows x64 callee may clobber (RAX, RDX, RCX, R8–R11, by
/// DWARF number): unknown in the caller's frame.
const VOLATILE: [usize; 7] = [0, 1, 2, 8, 9, 10, 11];

type Result<T> = core::result::Result<T, StopReason>;

/// One `.pdata` entry (RVAs).
#[derive(Clone, Copy, Debug)]
struct RuntimeFunction {
    begin: u32,
    end: u32,
    unwind_info: u32,
}

impl Image {
    /// The address of `rva` + `delta`, if it lies inside the image.
    fn address(&self, rva: u64, delta: u64) -> Result<u64> {
        let rva = rva.checked_add(delta).ok_or(StopReason::BadUnwindInfo)?;
        if rva >= self.size {
            return Err(StopReason::BadUnwindInfo);
        }
        self.base.checked_add(rva).ok_or(StopReason::BadUnwindInfo)
    }

    /// `N` little-endian bytes of unwind data at `rva`, as a `u32`.
    fn read_le<const N: usize>(&self, mem: &impl Memory, rva: u64) -> Result<u32> {
        let mut value = 0u32;
        for i in 0..N {
            let address = self.address(rva, i as u64)?;
            let byte = mem.read_u8(address).ok_or(StopReason::Unreadable)?;
            value |= u32::from(byte) << (8 * i);
        }
        Ok(value)
    }

    fn runtime_function(&self, mem: &impl Memory, rva: u64) -> Result<RuntimeFunction> {
        Ok(RuntimeFunction {
            begin: self.read_le::<4>(mem, rva)?,
            end: self.read_le::<4>(mem, rva.saturating_add(4))?,
            unwind_info: self.read_le::<4>(mem, rva.saturating_add(8))?,
        })
    }

    /// The entry with `begin <= rva < end`, by binary search.
    fn lookup(&self, mem: &impl Memory, rva: u32) -> Result<Option<RuntimeFunction>> {
        let end = u64::from(self.pdata_rva) + u64::from(self.pdata_size);
        if end > self.size {
            return Err(StopReason::BadUnwindInfo);
        }
        let (mut low, mut high) = (0u32, self.pdata_size / RUNTIME_FUNCTION_SIZE);
        while low < high {
            let mid = low + (high - low) / 2;
            let at = u64::from(self.pdata_rva) + u64::from(mid) * u64::from(RUNTIME_FUNCTION_SIZE);
            let entry = self.runtime_function(mem, at)?;
            if rva < entry.begin {
                high = mid;
            } else if rva >= entry.end {
                low = mid + 1;
            } else {
                return Ok(Some(entry));
            }
        }
        Ok(None)
    }
}

/// An `UNWIND_INFO` header.
struct UnwindInfo {
    rva: u64,
    version: u8,
    flags: u8,
    prolog_size: u8,
    count: u8,
    frame_register: u8,
    frame_offset: u8,
}

/// One `UNWIND_CODE` slot, decoded as an operation.
#[derive(Clone, Copy)]
struct Code {
    offset: u8,
    op: u8,
    info: u8,
}

impl UnwindInfo {
    fn read(image: &Image, mem: &impl Memory, rva: u32) -> Result<Self> {
        if !rva.is_multiple_of(4) {
            return Err(StopReason::BadUnwindInfo);
        }
        let rva = u64::from(rva);
        let header = image.read_le::<4>(mem, rva)?.to_le_bytes();
        let info = UnwindInfo {
            rva,
            version: header[0] & 7,
            flags: header[0] >> 3,
            prolog_size: header[1],
            count: header[2],
            frame_register: header[3] & 0xf,
            frame_offset: header[3] >> 4,
        };
        if !(1..=2).contains(&info.version) {
            return Err(StopReason::BadUnwindInfo);
        }
        Ok(info)
    }

    /// Slot `index` of the codes array as a raw `u16`.
    fn slot(&self, image: &Image, mem: &impl Memory, index: usize) -> Result<u32> {
        if index >= usize::from(self.count) {
            return Err(StopReason::BadUnwindInfo);
        }
        image.read_le::<2>(mem, self.rva + 4 + 2 * index as u64)
    }

    fn code(&self, image: &Image, mem: &impl Memory, index: usize) -> Result<Code> {
        let [offset, op_info, ..] = self.slot(image, mem, index)?.to_le_bytes();
        Ok(Code {
            offset,
            op: op_info & 0xf,
            info: op_info >> 4,
        })
    }

    /// How many slots `code` takes, or an error for an unknown operation.
    fn slots(&self, code: Code) -> Result<usize> {
        match (code.op, code.info) {
            (op::PUSH_NONVOL | op::ALLOC_SMALL | op::SET_FPREG, _) => Ok(1),
            (op::ALLOC_LARGE, 0) => Ok(2),
            (op::ALLOC_LARGE, 1) => Ok(3),
            (op::SAVE_NONVOL | op::SAVE_XMM128, _) => Ok(2),
            (op::SAVE_NONVOL_FAR | op::SAVE_XMM128_FAR, _) => Ok(3),
            // Version 2 epilogue descriptors come in pairs of slots (the
            // count is padded), as Windows' own unwinder skips them.
            (op::EPILOG, _) if self.version == 2 => Ok(2),
            (op::PUSH_MACHFRAME, 0 | 1) => Ok(1),
            _ => Err(StopReason::BadUnwindInfo),
        }
    }

    /// Two slots from `index` as one little-endian `u32`.
    fn slot_pair(&self, image: &Image, mem: &impl Memory, index: usize) -> Result<u32> {
        let low = self.slot(image, mem, index)?;
        let high = self.slot(image, mem, index + 1)?;
        Ok(low | high << 16)
    }

    /// The chained entry after the (even-padded) codes array.
    fn chained(&self, image: &Image, mem: &impl Memory) -> Result<RuntimeFunction> {
        let slots = (u64::from(self.count) + 1) & !1;
        image.runtime_function(mem, self.rva + 4 + 2 * slots)
    }

    /// The establisher frame for the primary entry at `prolog_offset`:
    /// the frame register less its offset once `UWOP_SET_FPREG` has run,
    /// else RSP.
    fn frame_base(
        &self,
        image: &Image,
        mem: &impl Memory,
        prolog_offset: u32,
        regs: &Registers,
    ) -> Result<u64> {
        let rsp = regs.rsp().ok_or(StopReason::Unreadable)?;
        if self.frame_register == 0 {
            return Ok(rsp);
        }
        let established = if prolog_offset >= u32::from(self.prolog_size)
            || self.flags & UNW_FLAG_CHAININFO != 0
        {
            true
        } else {
            let mut index = 0;
            let mut set_at = None;
            while index < usize::from(self.count) {
                let code = self.code(image, mem, index)?;
                if code.op == op::SET_FPREG {
                    set_at = Some(code.offset);
                    break;
                }
                index += self.slots(code)?;
            }
            set_at.is_some_and(|at| prolog_offset >= u32::from(at))
        };
        if established {
            self.frame_pointer(regs)
        } else {
            Ok(rsp)
        }
    }

    /// The value RSP had when the prolog set the frame register.
    fn frame_pointer(&self, regs: &Registers) -> Result<u64> {
        if self.frame_register == 0 {
            return Err(StopReason::BadUnwindInfo);
        }
        let fp = regs.gpr[WIN_TO_DWARF[usize::from(self.frame_register)]]
            .ok_or(StopReason::Unreadable)?;
        fp.checked_sub(u64::from(self.frame_offset) * 16)
            .ok_or(StopReason::BadFrame)
    }
}

/// Unwinds one frame: on success `regs` holds the caller's registers (rip =
/// return address, RSP and nonvolatile regs restored; volatile regs set to
/// None). On error `regs` is unchanged.
///
/// Errors: [`StopReason::NoUnwindInfo`] when `rip` is outside the image;
/// [`StopReason::Unreadable`] when unwind data, a stack slot or a register
/// the rules need (RSP, the frame register) cannot be read;
/// [`StopReason::BadUnwindInfo`] for malformed unwind data (bad version,
/// unknown operation, codes past `CountOfCodes`, data outside the image, a
/// chain longer than [`MAX_CHAIN`]); [`StopReason::BadFrame`] when the new
/// RSP is not above the old one or the return address is 0.
///
/// Epilogues are not detected (see the module documentation).
pub fn step(image: &Image, regs: &mut Registers, mem: &impl Memory) -> Result<()> {
    let old_rsp = regs.rsp().ok_or(StopReason::Unreadable)?;
    let rva = regs
        .rip
        .checked_sub(image.base)
        .filter(|&rva| rva < image.size)
        .and_then(|rva| u32::try_from(rva).ok())
        .ok_or(StopReason::NoUnwindInfo)?;
    let mut next = *regs;
    let machine_frame = match image.lookup(mem, rva)? {
        Some(function) => undo_prologs(image, mem, function, rva, &mut next)?,
        None => false,
    };
    if !machine_frame {
        let rsp = next.rsp().ok_or(StopReason::Unreadable)?;
        next.rip = read_stack(mem, rsp)?;
        next.gpr[reg::RSP] = Some(rsp.checked_add(8).ok_or(StopReason::BadFrame)?);
    }
    for volatile in VOLATILE {
        next.gpr[volatile] = None;
    }
    match next.rsp() {
        Some(rsp) if rsp > old_rsp && next.rip != 0 => {}
        _ => return Err(StopReason::BadFrame),
    }
    *regs = next;
    Ok(())
}

fn read_stack(mem: &impl Memory, address: u64) -> Result<u64> {
    mem.read_u64(address).ok_or(StopReason::Unreadable)
}

/// The nonvolatile register a code names, by DWARF number (RSP is not one).
fn saved_register(info: u8) -> Result<usize> {
    match WIN_TO_DWARF[usize::from(info & 0xf)] {
        reg::RSP => Err(StopReason::BadUnwindInfo),
        r => Ok(r),
    }
}

/// Undoes the prolog of `function` (at `rva`) and of its chained entries.
/// Returns whether a machine frame set RIP and RSP.
fn undo_prologs(
    image: &Image,
    mem: &impl Memory,
    function: RuntimeFunction,
    rva: u32,
    regs: &mut Registers,
) -> Result<bool> {
    let prolog_offset = rva.wrapping_sub(function.begin);
    let mut info = UnwindInfo::read(image, mem, function.unwind_info)?;
    // Computed once, from the primary entry, and used by every save code.
    let frame_base = info.frame_base(image, mem, prolog_offset, regs);
    let mut machine_frame = false;
    for depth in 0..=MAX_CHAIN {
        let primary = depth == 0;
        let mut index = 0;
        while index < usize::from(info.count) {
            let code = info.code(image, mem, index)?;
            let slots = info.slots(code)?;
            if index + slots > usize::from(info.count) || machine_frame {
                return Err(StopReason::BadUnwindInfo);
            }
            if !primary || u32::from(code.offset) <= prolog_offset {
                machine_frame = undo(image, mem, &info, code, index, &frame_base, regs)?;
            }
            index += slots;
        }
        if info.flags & UNW_FLAG_CHAININFO == 0 {
            return Ok(machine_frame);
        }
        if machine_frame {
            return Err(StopReason::BadUnwindInfo);
        }
        let chained = info.chained(image, mem)?;
        info = UnwindInfo::read(image, mem, chained.unwind_info)?;
    }
    Err(StopReason::BadUnwindInfo)
}

/// Undoes one code at `index`; returns whether it was a machine frame.
fn undo(
    image: &Image,
    mem: &impl Memory,
    info: &UnwindInfo,
    code: Code,
    index: usize,
    frame_base: &Result<u64>,
    regs: &mut Registers,
) -> Result<bool> {
    let rsp = regs.rsp().ok_or(StopReason::Unreadable)?;
    let grow = |by: u64| rsp.checked_add(by).ok_or(StopReason::BadFrame);
    let saved_at = |offset: u64| {
        let base = (*frame_base)?;
        base.checked_add(offset).ok_or(StopReason::BadFrame)
    };
    let new_rsp = match code.op {
        op::PUSH_NONVOL => {
            let r = saved_register(code.info)?;
            regs.gpr[r] = Some(read_stack(mem, rsp)?);
            grow(8)?
        }
        op::ALLOC_LARGE => {
            let size = if code.info == 0 {
                u64::from(info.slot(image, mem, index + 1)?) * 8
            } else {
                u64::from(info.slot_pair(image, mem, index + 1)?)
            };
            grow(size)?
        }
        op::ALLOC_SMALL => grow(u64::from(code.info) * 8 + 8)?,
        op::SET_FPREG => info.frame_pointer(regs)?,
        op::SAVE_NONVOL | op::SAVE_NONVOL_FAR => {
            let r = saved_register(code.info)?;
            let offset = if code.op == op::SAVE_NONVOL {
                u64::from(info.slot(image, mem, index + 1)?) * 8
            } else {
                u64::from(info.slot_pair(image, mem, index + 1)?)
            };
            regs.gpr[r] = Some(read_stack(mem, saved_at(offset)?)?);
            rsp
        }
        op::PUSH_MACHFRAME => {
            // RIP, CS, RFLAGS, RSP, SS, above an error code if OpInfo is 1.
            let frame = grow(u64::from(code.info) * 8)?;
            let old_rsp_at = frame.checked_add(24).ok_or(StopReason::BadFrame)?;
            regs.rip = read_stack(mem, frame)?;
            regs.gpr[reg::RSP] = Some(read_stack(mem, old_rsp_at)?);
            return Ok(true);
        }
        // EPILOG and the XMM saves change nothing tracked here.
        _ => rsp,
    };
    regs.gpr[reg::RSP] = Some(new_rsp);
    Ok(false)
}

#[cfg(test)]
mod tests;
