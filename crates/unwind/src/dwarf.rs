//! DWARF call-frame unwinding over `.debug_frame` and `.eh_frame`.
//!
//! The call-frame information (DWARF 5 §6.4) gives, for every instruction
//! of a function, the canonical frame address (CFA: the caller's RSP) as a
//! register plus an offset, and where the caller's registers and the
//! return address are saved. Evaluation uses `gimli` with a fixed-size
//! [`gimli::UnwindContext`] storage, so a walk allocates nothing.

use crate::{reg, Memory, Registers, StopReason};
use gimli::{
    BaseAddresses, CfaRule, DebugFrame, EhFrame, EndianSlice, LittleEndian, Register, RegisterRule,
    UnwindContext, UnwindContextStorage, UnwindSection, UnwindTableRow,
};

type Slice<'a> = EndianSlice<'a, LittleEndian>;

/// Register rules kept per row: x86-64 has 17 DWARF columns that matter
/// here (16 registers and the return address).
const MAX_RULES: usize = 24;
/// Nested `DW_CFA_remember_state` levels.
const MAX_STATES: usize = 4;

/// Fixed-size storage for the unwind table: no heap.
#[derive(Debug)]
pub struct FixedStorage;

impl UnwindContextStorage<usize> for FixedStorage {
    type Rules = [(Register, RegisterRule<usize>); MAX_RULES];
    type Stack = [UnwindTableRow<usize, Self>; MAX_STATES];
}

/// Scratch state for evaluating call-frame programs (a few KiB; make one
/// ahead of time where stack space is short, and reuse it).
pub struct Scratch(UnwindContext<usize, FixedStorage>);

impl Scratch {
    /// Fresh scratch state.
    pub fn new() -> Self {
        Self(UnwindContext::new_in())
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

/// The callee-saved registers of the System V AMD64 ABI (§3.2.1): RBX,
/// RBP, R12–R15. Their value carries into the caller unless the frame's
/// rules say otherwise; every other register becomes unknown.
const CALLEE_SAVED: [usize; 6] = [reg::RBX, reg::RBP, 12, 13, 14, 15];

/// An image's call-frame information.
pub struct CallFrameInfo<'a> {
    debug_frame: Option<DebugFrame<Slice<'a>>>,
    eh_frame: Option<(EhFrame<Slice<'a>>, BaseAddresses)>,
    bias: u64,
}

impl<'a> CallFrameInfo<'a> {
    /// The information of an image loaded `bias` bytes above its link
    /// addresses (0 for the kernel): its `.debug_frame` bytes and its
    /// `.eh_frame` bytes with the section's link address. Either may be
    /// empty.
    pub fn new(
        debug_frame: &'a [u8],
        eh_frame: &'a [u8],
        eh_frame_address: u64,
        bias: u64,
    ) -> Self {
        let debug_frame = (!debug_frame.is_empty()).then(|| {
            let mut section = DebugFrame::new(debug_frame, LittleEndian);
            section.set_address_size(8);
            section
        });
        let eh_frame = (!eh_frame.is_empty()).then(|| {
            (
                EhFrame::new(eh_frame, LittleEndian),
                BaseAddresses::default().set_eh_frame(eh_frame_address),
            )
        });
        Self {
            debug_frame,
            eh_frame,
            bias,
        }
    }

    /// Whether the image has any call-frame information.
    pub fn is_empty(&self) -> bool {
        self.debug_frame.is_none() && self.eh_frame.is_none()
    }

    /// The unwind row for link address `address`, if an FDE covers it.
    fn row<'s>(
        &self,
        scratch: &'s mut Scratch,
        address: u64,
    ) -> Result<&'s UnwindTableRow<usize, FixedStorage>, StopReason> {
        let none = gimli::Error::NoUnwindInfoForAddress;
        let mut result = Err(none);
        if let Some(section) = &self.debug_frame {
            let bases = BaseAddresses::default();
            result = section.fde_for_address(&bases, address, DebugFrame::cie_from_offset);
            if let Ok(fde) = result {
                return fde
                    .unwind_info_for_address(section, &bases, &mut scratch.0, address)
                    .map_err(|_| StopReason::BadUnwindInfo);
            }
        }
        if let Some((section, bases)) = &self.eh_frame {
            result = section.fde_for_address(bases, address, EhFrame::cie_from_offset);
            if let Ok(fde) = result {
                return fde
                    .unwind_info_for_address(section, bases, &mut scratch.0, address)
                    .map_err(|_| StopReason::BadUnwindInfo);
            }
        }
        match result {
            Err(gimli::Error::NoUnwindInfoForAddress) | Ok(_) => Err(StopReason::NoUnwindInfo),
            Err(_) => Err(StopReason::BadUnwindInfo),
        }
    }

    /// Unwinds one frame: on success `regs` holds the caller's registers,
    /// with `rip` the return address. `first` says whether `regs.rip` is
    /// the interrupted instruction itself (the first frame of a fault)
    /// rather than a return address, which points after its call and is
    /// looked up one byte back.
    pub fn step(
        &self,
        scratch: &mut Scratch,
        regs: &mut Registers,
        mem: &impl Memory,
        first: bool,
    ) -> Result<(), StopReason> {
        let pc = if first {
            regs.rip
        } else {
            regs.rip.wrapping_sub(1)
        };
        let row = self.row(scratch, pc.wrapping_sub(self.bias))?;
        let cfa = match row.cfa() {
            CfaRule::RegisterAndOffset { register, offset } => regs
                .gpr
                .get(usize::from(register.0))
                .copied()
                .flatten()
                .ok_or(StopReason::BadUnwindInfo)?
                .wrapping_add_signed(*offset),
            CfaRule::Expression(_) => return Err(StopReason::BadUnwindInfo),
        };
        let mut caller = Registers::default();
        for r in CALLEE_SAVED {
            caller.gpr[r] = regs.gpr[r];
        }
        let value = |rule: RegisterRule<usize>, current: Option<u64>| match rule {
            RegisterRule::Undefined => Ok(None),
            RegisterRule::SameValue => Ok(current),
            RegisterRule::Offset(n) => mem
                .read_u64(cfa.wrapping_add_signed(n))
                .map(Some)
                .ok_or(StopReason::Unreadable),
            RegisterRule::ValOffset(n) => Ok(Some(cfa.wrapping_add_signed(n))),
            RegisterRule::Register(other) => {
                Ok(regs.gpr.get(usize::from(other.0)).copied().flatten())
            }
            _ => Err(StopReason::BadUnwindInfo),
        };
        let mut return_address = None;
        for (register, rule) in row.registers() {
            let number = usize::from(register.0);
            if number == 16 {
                return_address = value(rule.clone(), None)?;
            } else if let Some(slot) = caller.gpr.get_mut(number) {
                *slot = value(rule.clone(), regs.gpr[number])?;
            }
        }
        let return_address = return_address.ok_or(StopReason::BadUnwindInfo)?;
        let rsp = regs.rsp().ok_or(StopReason::BadFrame)?;
        if return_address == 0 || cfa <= rsp {
            return Err(StopReason::BadFrame);
        }
        caller.gpr[reg::RSP] = Some(cfa);
        caller.rip = return_address;
        *regs = caller;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gimli::write::{
        Address, CallFrameInstruction, CommonInformationEntry, EndianVec, FrameDescriptionEntry,
        FrameTable,
    };
    use gimli::{Encoding, Format, X86_64};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// A stack: 8-byte words by address.
    struct Stack(BTreeMap<u64, u64>);

    impl Memory for Stack {
        fn read_u64(&self, address: u64) -> Option<u64> {
            self.0.get(&address).copied()
        }
    }

    const ENCODING: Encoding = Encoding {
        format: Format::Dwarf32,
        version: 1,
        address_size: 8,
    };

    /// `.debug_frame` for two functions: `outer` at 0x1000..0x1100 with a
    /// plain `push rbp; mov rbp, rsp` frame, and `inner` at 0x2000..0x2100,
    /// which pushes RBX at 0x2001 and then subtracts 0x20 from RSP at
    /// 0x2005 (CFA = RSP + 8, + 16, + 48).
    fn frame_table() -> Vec<u8> {
        let mut cie = CommonInformationEntry::new(ENCODING, 1, -8, X86_64::RA);
        cie.add_instruction(CallFrameInstruction::Cfa(X86_64::RSP, 8));
        cie.add_instruction(CallFrameInstruction::Offset(X86_64::RA, -8));
        let mut table = FrameTable::default();
        let cie_id = table.add_cie(cie);
        let mut outer = FrameDescriptionEntry::new(Address::Constant(0x1000), 0x100);
        outer.add_instruction(1, CallFrameInstruction::CfaOffset(16));
        outer.add_instruction(1, CallFrameInstruction::Offset(X86_64::RBP, -16));
        outer.add_instruction(4, CallFrameInstruction::CfaRegister(X86_64::RBP));
        table.add_fde(cie_id, outer);
        let mut inner = FrameDescriptionEntry::new(Address::Constant(0x2000), 0x100);
        inner.add_instruction(1, CallFrameInstruction::CfaOffset(16));
        inner.add_instruction(1, CallFrameInstruction::Offset(X86_64::RBX, -16));
        inner.add_instruction(5, CallFrameInstruction::CfaOffset(48));
        table.add_fde(cie_id, inner);
        let mut out = gimli::write::DebugFrame(EndianVec::new(LittleEndian));
        table.write_debug_frame(&mut out).unwrap();
        out.0.into_vec()
    }

    fn registers(rip: u64, rsp: u64, rbp: u64, rbx: u64) -> Registers {
        let mut regs = Registers {
            rip,
            ..Registers::default()
        };
        regs.gpr[reg::RSP] = Some(rsp);
        regs.gpr[reg::RBP] = Some(rbp);
        regs.gpr[reg::RBX] = Some(rbx);
        regs.gpr[0] = Some(0xdead);
        regs
    }

    #[test]
    fn walks_two_frames_and_restores_callee_saved_registers() {
        let data = frame_table();
        let cfi = CallFrameInfo::new(&data, &[], 0, 0);
        // outer's frame: its RBP at 0x7f00 points at the saved RBP 0x9000,
        // return address 0x5555 above it. inner (past its prolog, RSP
        // 0x7ec8): saved RBX at 0x7ee8, return address into outer at 0x7ef0.
        let stack = Stack(BTreeMap::from([
            (0x7ee8, 0xb0b0),
            (0x7ef0, 0x1043),
            (0x7f00, 0x9000),
            (0x7f08, 0x5555),
        ]));
        let mut scratch = Scratch::new();
        let mut regs = registers(0x2010, 0x7ec8, 0x7f00, 0x1234);
        cfi.step(&mut scratch, &mut regs, &stack, true).unwrap();
        assert_eq!(regs.rip, 0x1043);
        assert_eq!(regs.rsp(), Some(0x7ef8));
        assert_eq!(
            regs.gpr[reg::RBX],
            Some(0xb0b0),
            "RBX restored from the stack"
        );
        assert_eq!(regs.gpr[reg::RBP], Some(0x7f00), "RBP unchanged in inner");
        assert_eq!(regs.gpr[0], None, "RAX is caller-saved: unknown");
        cfi.step(&mut scratch, &mut regs, &stack, false).unwrap();
        assert_eq!(regs.rip, 0x5555);
        assert_eq!(regs.rsp(), Some(0x7f10));
        assert_eq!(regs.gpr[reg::RBP], Some(0x9000));
        assert_eq!(
            cfi.step(&mut scratch, &mut regs, &stack, false),
            Err(StopReason::NoUnwindInfo)
        );
    }

    #[test]
    fn a_partial_prolog_uses_the_row_for_that_instruction() {
        let data = frame_table();
        let cfi = CallFrameInfo::new(&data, &[], 0, 0);
        // At 0x2003 RBX is pushed but RSP not yet lowered: CFA = RSP + 16.
        let stack = Stack(BTreeMap::from([(0x7ef0, 0x77), (0x7ef8, 0x1043)]));
        let mut regs = registers(0x2003, 0x7ef0, 0x7f00, 1);
        cfi.step(&mut Scratch::new(), &mut regs, &stack, true)
            .unwrap();
        assert_eq!(
            (regs.rip, regs.rsp(), regs.gpr[reg::RBX]),
            (0x1043, Some(0x7f00), Some(0x77))
        );
    }

    #[test]
    fn a_return_address_is_looked_up_one_byte_back() {
        let data = frame_table();
        let cfi = CallFrameInfo::new(&data, &[], 0, 0);
        // A call as the last instruction of outer: its return address is
        // 0x1100, outside outer's FDE; one byte back is inside.
        let stack = Stack(BTreeMap::from([(0x7f00, 0x9000), (0x7f08, 0x5555)]));
        let mut regs = registers(0x1100, 0x7ef0, 0x7f00, 1);
        assert_eq!(
            cfi.step(&mut Scratch::new(), &mut regs.clone(), &stack, true),
            Err(StopReason::NoUnwindInfo)
        );
        cfi.step(&mut Scratch::new(), &mut regs, &stack, false)
            .unwrap();
        assert_eq!(regs.rip, 0x5555);
    }

    #[test]
    fn a_bias_moves_the_lookup() {
        let data = frame_table();
        let cfi = CallFrameInfo::new(&data, &[], 0, 0x40_0000);
        let stack = Stack(BTreeMap::from([(0x7f00, 0x9000), (0x7f08, 0x5555)]));
        let mut regs = registers(0x40_1010, 0x7ef0, 0x7f00, 1);
        cfi.step(&mut Scratch::new(), &mut regs, &stack, true)
            .unwrap();
        assert_eq!(regs.rip, 0x5555);
    }

    #[test]
    fn unreadable_and_looping_stacks_stop_the_walk() {
        let data = frame_table();
        let cfi = CallFrameInfo::new(&data, &[], 0, 0);
        let mut regs = registers(0x1010, 0x7ef0, 0x7f00, 1);
        assert_eq!(
            cfi.step(
                &mut Scratch::new(),
                &mut regs,
                &Stack(BTreeMap::new()),
                true
            ),
            Err(StopReason::Unreadable)
        );
        // A frame pointer below the stack pointer: the CFA would not be
        // above RSP.
        let stack = Stack(BTreeMap::from([(0x7000, 0x9000), (0x7008, 0x5555)]));
        let mut regs = registers(0x1010, 0x7ef0, 0x7000, 1);
        assert_eq!(
            cfi.step(&mut Scratch::new(), &mut regs, &stack, true),
            Err(StopReason::BadFrame)
        );
        let stack = Stack(BTreeMap::from([(0x7f00, 0x9000), (0x7f08, 0)]));
        let mut regs = registers(0x1010, 0x7ef0, 0x7f00, 1);
        assert_eq!(
            cfi.step(&mut Scratch::new(), &mut regs, &stack, true),
            Err(StopReason::BadFrame)
        );
    }

    #[test]
    fn no_information_means_no_unwind_info() {
        let cfi = CallFrameInfo::new(&[], &[], 0, 0);
        assert!(cfi.is_empty());
        let mut regs = registers(0x1010, 0x7ef0, 0x7f00, 1);
        assert_eq!(
            cfi.step(
                &mut Scratch::new(),
                &mut regs,
                &Stack(BTreeMap::new()),
                true
            ),
            Err(StopReason::NoUnwindInfo)
        );
    }

    proptest! {
        /// Random call-frame bytes and a random stack: every walk ends
        /// (the stack pointer only grows) and nothing panics.
        #[test]
        fn hostile_information_never_panics(
            debug_frame in proptest::collection::vec(any::<u8>(), 0..512),
            eh_frame in proptest::collection::vec(any::<u8>(), 0..512),
            words in proptest::collection::vec((0u64..64, any::<u64>()), 0..64),
            rip in any::<u64>(),
            rsp in any::<u64>(),
        ) {
            let mut data = frame_table();
            data.extend_from_slice(&debug_frame);
            let cfi = CallFrameInfo::new(&data, &eh_frame, 0x8000, 0);
            let stack = Stack(words.into_iter().map(|(i, w)| (rsp.wrapping_add(i * 8), w)).collect());
            let mut regs = registers(rip, rsp, rsp.wrapping_add(16), 0);
            let mut scratch = Scratch::new();
            let mut first = true;
            for _ in 0..10_000 {
                let before = regs.rsp();
                if cfi.step(&mut scratch, &mut regs, &stack, first).is_err() {
                    break;
                }
                prop_assert!(regs.rsp() > before);
                first = false;
            }
        }
    }
}
