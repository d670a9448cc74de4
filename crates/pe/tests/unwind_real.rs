//! The `unwind` crate's Windows unwinder against the real user images.
//!
//! For every `RUNTIME_FUNCTION` of runtime.dll, hello.exe and m2-tests.exe
//! the test runs the function's prolog machine code on a fake stack, one
//! instruction at a time, with a tiny emulator of the instructions prologs
//! use (push, sub rsp, the `__chkstk` sequence, lea/mov of the frame
//! register, XMM stores). After each instruction it unwinds one frame and
//! checks the result against the emulated stack: RSP back at the entry
//! value plus 8, RIP the return address stored there, every pushed
//! register restored. The expectations come from the code bytes, not from
//! the unwind codes, so a wrong decoding of either shows up.

mod common;

use object::read::pe::PeFile64;
use object::LittleEndian as LE;

use unwind::windows::{step, Image};
use unwind::{Memory, Registers, StopReason};

use common::user_images;

/// Memory made of byte regions.
struct Mem {
    regions: Vec<(u64, Vec<u8>)>,
}

impl Memory for Mem {
    fn read_u64(&self, address: u64) -> Option<u64> {
        let mut bytes = [0; 8];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = self.read_u8(address.checked_add(i as u64)?)?;
        }
        Some(u64::from_le_bytes(bytes))
    }

    fn read_u8(&self, address: u64) -> Option<u8> {
        self.regions.iter().find_map(|(start, bytes)| {
            let offset = usize::try_from(address.checked_sub(*start)?).ok()?;
            bytes.get(offset).copied()
        })
    }
}

/// x86 register encoding (0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP,
/// 6 RSI, 7 RDI, 8–15) to DWARF number.
const X86_TO_DWARF: [usize; 16] = [0, 2, 1, 3, 7, 6, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15];
const RSP: usize = 7;

/// A prolog instruction, as far as the stack is concerned.
#[derive(Debug)]
enum Insn {
    Push(usize),
    SubRsp(u64),
    MovEax(u64),
    /// `call __chkstk`: probes the stack, changes nothing tracked.
    Call,
    SubRspRax,
    /// `lea reg, [rsp+disp]` or `mov reg, rsp`.
    SetFrame(usize, u64),
    /// A store to the stack that moves nothing (XMM or integer saves).
    Store,
}

fn imm32(b: &[u8]) -> u64 {
    u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// `[rsp]` / `[rsp+disp8]` / `[rsp+disp32]` operand after `modrm`: (disp, length of
/// modrm + SIB + disp).
fn rsp_operand(rest: &[u8]) -> Option<(u64, usize)> {
    let (&modrm, tail) = rest.split_first()?;
    if modrm & 7 != 4 || tail.first() != Some(&0x24) {
        return None;
    }
    match modrm >> 6 {
        0 => Some((0, 2)),
        1 => Some((u64::from(*tail.get(1)?), 3)),
        2 => Some((imm32(tail.get(1..5)?), 6)),
        _ => None,
    }
}

/// Decodes one prolog instruction: (instruction, length).
fn decode(code: &[u8]) -> Option<(Insn, usize)> {
    let insn = match code {
        [r @ 0x50..=0x57, ..] => (Insn::Push(X86_TO_DWARF[usize::from(r - 0x50)]), 1),
        [0x41, r @ 0x50..=0x57, ..] => (Insn::Push(8 + usize::from(r - 0x50)), 2),
        [0x48, 0x83, 0xec, ib, ..] => (Insn::SubRsp(u64::from(*ib)), 4),
        [0x48, 0x81, 0xec, rest @ ..] if rest.len() >= 4 => (Insn::SubRsp(imm32(rest)), 7),
        [0xb8, rest @ ..] if rest.len() >= 4 => (Insn::MovEax(imm32(rest)), 5),
        [0xe8, rest @ ..] if rest.len() >= 4 => (Insn::Call, 5),
        [0x48, 0x29, 0xc4, ..] => (Insn::SubRspRax, 3),
        [0x48, 0x89, 0xe5, ..] => (Insn::SetFrame(6, 0), 3),
        [rex @ (0x48 | 0x4c), 0x8d, rest @ ..] => {
            let reg = usize::from((rex >> 2) & 1) << 3 | usize::from((rest.first()? >> 3) & 7);
            let (disp, len) = rsp_operand(rest)?;
            (Insn::SetFrame(X86_TO_DWARF[reg], disp), 2 + len)
        }
        _ => {
            // [66] [REX] 0F 29/7F (movaps/movdqa store) or REX.W 89 (mov)
            // to [rsp+disp].
            let mut at = 0;
            if code.first() == Some(&0x66) {
                at += 1;
            }
            if code.get(at).is_some_and(|b| b & 0xf0 == 0x40) {
                at += 1;
            }
            match code.get(at..)? {
                [0x0f, 0x29 | 0x7f, rest @ ..] => (Insn::Store, at + 2 + rsp_operand(rest)?.1),
                [0x89, rest @ ..] if at > 0 => (Insn::Store, at + 1 + rsp_operand(rest)?.1),
                _ => return None,
            }
        }
    };
    Some(insn)
}

/// The prolog's instructions with the offset after each, or the offset
/// and bytes of the first one the emulator does not know.
fn decode_prolog(code: &[u8], size: usize) -> Result<Vec<(usize, Insn)>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < size {
        let (insn, len) = decode(&code[at..])
            .ok_or_else(|| format!("+{at:#x}: {:02x?}", code.get(at..at + 8)))?;
        at += len;
        out.push((at, insn));
    }
    if at != size {
        return Err(format!(
            "instructions end at {at:#x}, SizeOfProlog {size:#x}"
        ));
    }
    Ok(out)
}

const RETURN: u64 = 0x0000_7eed_0000_1234;

fn marker(reg: usize) -> u64 {
    0x1111_0000_0000 + reg as u64
}

/// The stack after running `insns` from `entry_rsp`, and the registers.
fn run(insns: &[(usize, Insn)], entry_rsp: u64, stack: &mut (u64, Vec<u8>)) -> Registers {
    let mut regs = Registers::default();
    for (r, slot) in regs.gpr.iter_mut().enumerate() {
        *slot = Some(marker(r));
    }
    let mut write = |at: u64, value: u64| {
        let o = (at - stack.0) as usize;
        stack.1[o..o + 8].copy_from_slice(&value.to_le_bytes());
    };
    write(entry_rsp, RETURN);
    let mut rsp = entry_rsp;
    let mut rax = 0;
    let mut pushed = Vec::new();
    let mut frame = None;
    for (_, insn) in insns {
        match *insn {
            Insn::Push(r) => {
                rsp -= 8;
                write(rsp, regs.gpr[r].unwrap());
                pushed.push(r);
            }
            Insn::SubRsp(n) => rsp -= n,
            Insn::MovEax(n) => rax = n,
            Insn::SubRspRax => rsp -= rax,
            Insn::SetFrame(r, disp) => {
                regs.gpr[r] = Some(rsp + disp);
                frame = Some(r);
            }
            Insn::Call | Insn::Store => {}
        }
    }
    // The body may reuse pushed registers: the unwinder must read them
    // back from the stack.
    for r in pushed {
        if Some(r) != frame {
            regs.gpr[r] = Some(0xdead_0000 + r as u64);
        }
    }
    regs.gpr[RSP] = Some(rsp);
    regs
}

/// What `step` must give for a frame entered at `entry_rsp` after `insns`.
fn expected(insns: &[(usize, Insn)], before: &Registers, entry_rsp: u64) -> Registers {
    let mut want = *before;
    for (_, insn) in insns {
        if let Insn::Push(r) = insn {
            want.gpr[*r] = Some(marker(*r));
        }
    }
    for volatile in [0, 1, 2, 8, 9, 10, 11] {
        want.gpr[volatile] = None;
    }
    want.gpr[RSP] = Some(entry_rsp + 8);
    want.rip = RETURN;
    want
}

/// Stack room the prolog needs.
fn depth(insns: &[(usize, Insn)]) -> u64 {
    let mut rax = 0;
    insns
        .iter()
        .map(|(_, insn)| match *insn {
            Insn::Push(_) => 8,
            Insn::SubRsp(n) => n,
            Insn::MovEax(n) => {
                rax = n;
                0
            }
            Insn::SubRspRax => rax,
            _ => 0,
        })
        .sum()
}

struct Report {
    functions: usize,
    emulated: usize,
    steps: usize,
    undecoded: Vec<String>,
}

fn check_image(name: &str, file: &[u8]) -> Report {
    let pe = PeFile64::parse(file).unwrap();
    let dir = pe
        .data_directory(object::pe::IMAGE_DIRECTORY_ENTRY_EXCEPTION)
        .expect("an exception directory");
    let (pdata_rva, pdata_size) = (dir.virtual_address.get(LE), dir.size.get(LE));
    let parsed = pe::parse(file).unwrap();
    let loaded = parsed.load(file, parsed.preferred_base()).unwrap();
    let base = loaded.base;
    let image = Image {
        base,
        size: loaded.memory.len() as u64,
        pdata_rva,
        pdata_size,
    };
    let memory = loaded.memory;
    let u32_at = |rva: u32| {
        let at = rva as usize;
        u32::from_le_bytes(memory[at..at + 4].try_into().unwrap())
    };
    let mut report = Report {
        functions: 0,
        emulated: 0,
        steps: 0,
        undecoded: Vec::new(),
    };
    for entry in 0..pdata_size / 12 {
        let at = pdata_rva + 12 * entry;
        let (begin, info) = (u32_at(at), u32_at(at + 8));
        report.functions += 1;
        let entry_rsp = 0x7fff_f000_0000u64;
        let fake_stack = |room: u64| (entry_rsp - room - 0x1000, vec![0u8; room as usize + 0x1040]);
        let mem_with = |stack: (u64, Vec<u8>)| Mem {
            regions: vec![(base, memory.clone()), stack],
        };

        // Nothing executed: the return address is at [RSP].
        let mut stack = fake_stack(0);
        let before = run(&[], entry_rsp, &mut stack);
        let mut regs = before;
        let mem = mem_with(stack);
        regs.rip = base + u64::from(begin);
        step(&image, &mut regs, &mem).unwrap_or_else(|e| panic!("{name} {begin:#x}+0: {e:?}"));
        assert_eq!(
            regs,
            expected(&[], &before, entry_rsp),
            "{name} {begin:#x}+0"
        );
        report.steps += 1;

        let header = u32_at(info).to_le_bytes();
        let (prolog_size, frame_register) = (usize::from(header[1]), header[3] & 0xf);
        let code = &memory[begin as usize..];
        let insns = match decode_prolog(code, prolog_size) {
            Ok(insns) => insns,
            Err(why) => {
                report.undecoded.push(format!("{name} {begin:#x} {why}"));
                continue;
            }
        };
        report.emulated += 1;
        let room = depth(&insns) + 0x100;
        for done in 1..=insns.len() {
            let ran = &insns[..done];
            let offset = ran[done - 1].0;
            let mut stack = fake_stack(room);
            let before = run(ran, entry_rsp, &mut stack);
            let mem = mem_with(stack);
            let want = expected(ran, &before, entry_rsp);
            let mut regs = before;
            regs.rip = base + u64::from(begin) + offset as u64;
            step(&image, &mut regs, &mem)
                .unwrap_or_else(|e| panic!("{name} {begin:#x}+{offset:#x}: {e:?}"));
            assert_eq!(regs, want, "{name} {begin:#x}+{offset:#x}");
            report.steps += 1;
            // In the body of a function with a frame pointer, RSP may have
            // moved further down (alloca); unwinding goes by the frame.
            if done == insns.len() && frame_register != 0 {
                let mut regs = before;
                regs.gpr[RSP] = Some(before.gpr[RSP].unwrap() - 0x80);
                regs.rip = base + u64::from(begin) + offset as u64;
                step(&image, &mut regs, &mem)
                    .unwrap_or_else(|e| panic!("{name} {begin:#x} body: {e:?}"));
                assert_eq!(regs, want, "{name} {begin:#x} body below the frame");
                report.steps += 1;
            }
        }
    }
    report
}

#[test]
fn unwinds_every_prolog_step_of_the_real_images() {
    let images = user_images();
    let mut undecoded = Vec::new();
    let (mut functions, mut emulated) = (0, 0);
    for (name, file) in [
        ("runtime.dll", &images.runtime),
        ("hello.exe", &images.hello),
        ("m2-tests.exe", &images.m2_tests),
    ] {
        let r = check_image(name, file);
        println!(
            "{name}: {} functions, {} prologs emulated, {} unwinds checked",
            r.functions, r.emulated, r.steps
        );
        functions += r.functions;
        emulated += r.emulated;
        undecoded.extend(r.undecoded);
    }
    for why in &undecoded {
        println!("prolog not emulated: {why}");
    }
    assert!(functions > 50, "{functions} functions");
    // Every prolog LLVM emits today decodes; leave room for a new form.
    assert!(
        emulated * 10 >= functions * 9,
        "{emulated} of {functions} prologs emulated: {undecoded:#?}"
    );
}

/// Walking from a fake return address outside every image ends the walk.
#[test]
fn a_return_address_outside_the_image_ends_the_walk() {
    let images = user_images();
    let file = images.get("m2-tests.exe").unwrap();
    let pe = PeFile64::parse(file).unwrap();
    let dir = pe
        .data_directory(object::pe::IMAGE_DIRECTORY_ENTRY_EXCEPTION)
        .unwrap();
    let parsed = pe::parse(file).unwrap();
    let loaded = parsed.load(file, parsed.preferred_base()).unwrap();
    let image = Image {
        base: loaded.base,
        size: loaded.memory.len() as u64,
        pdata_rva: dir.virtual_address.get(LE),
        pdata_size: dir.size.get(LE),
    };
    let stack_base = 0x7000_0000u64;
    let mut stack = vec![0u8; 0x100];
    stack[..8].copy_from_slice(&(loaded.base + 0x10_0000_0000).to_le_bytes());
    let mem = Mem {
        regions: vec![(loaded.base, loaded.memory), (stack_base, stack)],
    };
    // A leaf-looking RIP inside the image (the headers have no entry).
    let mut regs = Registers {
        rip: loaded.base + 0x10,
        ..Registers::default()
    };
    regs.gpr[RSP] = Some(stack_base);
    step(&image, &mut regs, &mem).unwrap();
    assert_eq!(regs.gpr[RSP], Some(stack_base + 8));
    assert_eq!(step(&image, &mut regs, &mem), Err(StopReason::NoUnwindInfo));
}
