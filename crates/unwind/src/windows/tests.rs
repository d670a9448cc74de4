//! Unit and property tests of the Windows x64 unwinder on synthetic images.

use super::*;

mod hostile;

const BASE: u64 = 0x1_4000_0000;
const IMAGE_SIZE: usize = 0x4000;
const PDATA: u32 = 0x1000;
const STACK: u64 = 0x7fff_0000;
const STACK_SIZE: usize = 0x1000;
/// The stack pointer at function entry in the tests (return address there).
const ENTRY_RSP: u64 = STACK + 0x800;
const RETURN: u64 = 0x1_4000_3333;

/// Memory made of byte regions; anything else is unreadable.
#[derive(Clone)]
struct Mem {
    regions: Vec<(u64, Vec<u8>)>,
}

impl Mem {
    fn byte(&self, address: u64) -> Option<u8> {
        self.regions.iter().find_map(|(start, bytes)| {
            let offset = usize::try_from(address.checked_sub(*start)?).ok()?;
            bytes.get(offset).copied()
        })
    }

    fn write_u64(&mut self, address: u64, value: u64) {
        for (i, b) in value.to_le_bytes().into_iter().enumerate() {
            let a = address + i as u64;
            let (start, bytes) = self
                .regions
                .iter_mut()
                .find(|(s, v)| a >= *s && a < *s + v.len() as u64)
                .expect("mapped");
            bytes[(a - *start) as usize] = b;
        }
    }
}

impl Memory for Mem {
    fn read_u64(&self, address: u64) -> Option<u64> {
        let mut bytes = [0; 8];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = self.byte(address.checked_add(i as u64)?)?;
        }
        Some(u64::from_le_bytes(bytes))
    }

    fn read_u8(&self, address: u64) -> Option<u8> {
        self.byte(address)
    }
}

/// One unwind code slot.
fn code(offset: u8, op: u8, info: u8) -> u16 {
    u16::from(offset) | u16::from(op | info << 4) << 8
}

/// Builds an image: `.pdata` at [`PDATA`], unwind info from 0x1800, code
/// from 0x2000 (never read).
struct Builder {
    bytes: Vec<u8>,
    functions: Vec<[u32; 3]>,
    next_info: u32,
}

struct Info<'a> {
    version: u8,
    flags: u8,
    prolog: u8,
    frame: u8,
    codes: &'a [u16],
    chain: Option<[u32; 3]>,
}

impl Default for Info<'_> {
    fn default() -> Self {
        Info {
            version: 1,
            flags: 0,
            prolog: 0,
            frame: 0,
            codes: &[],
            chain: None,
        }
    }
}

impl Builder {
    fn new() -> Self {
        Builder {
            bytes: vec![0xcc; IMAGE_SIZE],
            functions: Vec::new(),
            next_info: 0x1800,
        }
    }

    fn put(&mut self, at: u32, data: &[u8]) {
        self.bytes[at as usize..at as usize + data.len()].copy_from_slice(data);
    }

    /// Writes an `UNWIND_INFO`; returns its RVA.
    fn info(&mut self, info: Info) -> u32 {
        let rva = self.next_info;
        let flags = info.flags | if info.chain.is_some() { 4 } else { 0 };
        let header = [
            info.version | flags << 3,
            info.prolog,
            info.codes.len() as u8,
            info.frame,
        ];
        self.put(rva, &header);
        let mut at = rva + 4;
        for c in info.codes {
            self.put(at, &c.to_le_bytes());
            at += 2;
        }
        if info.codes.len() % 2 == 1 {
            self.put(at, &[0xee, 0xee]);
            at += 2;
        }
        if let Some(chain) = info.chain {
            for word in chain {
                self.put(at, &word.to_le_bytes());
                at += 4;
            }
        }
        self.next_info = (at + 3) & !3;
        rva
    }

    fn function(&mut self, begin: u32, end: u32, info: u32) {
        self.functions.push([begin, end, info]);
    }

    fn build(mut self) -> (Image, Mem) {
        self.functions.sort();
        let mut at = PDATA;
        for f in self.functions.clone() {
            for word in f {
                self.put(at, &word.to_le_bytes());
                at += 4;
            }
        }
        let image = Image {
            base: BASE,
            size: IMAGE_SIZE as u64,
            pdata_rva: PDATA,
            pdata_size: at - PDATA,
        };
        // Every stack word holds a marker derived from its address.
        let stack = (0..STACK_SIZE / 8)
            .flat_map(|i| (0x5555_0000_0000 + i as u64).to_le_bytes())
            .collect();
        let mem = Mem {
            regions: vec![(BASE, self.bytes), (STACK, stack)],
        };
        (image, mem)
    }
}

fn regs(rip: u64, rsp: u64) -> Registers {
    let mut r = Registers {
        rip,
        gpr: [Some(0xbad); 16],
    };
    r.gpr[reg::RSP] = Some(rsp);
    r
}

const RBX: usize = reg::RBX;
const RBP: usize = reg::RBP;
const RSI: usize = reg::RSI;
const RDI: usize = reg::RDI;
const R12: usize = 12;

/// The function of the first tests: `push rbp; push rsi; push rdi;
/// sub rsp, 0x40; lea rbp, [rsp+0x20]; mov [rsp+0x30], rbx` at 0x2000.
fn framed() -> (Image, Mem) {
    let mut b = Builder::new();
    let info = b.info(Info {
        prolog: 17,
        frame: 5 | 2 << 4, // RBP, offset 2 * 16
        codes: &[
            code(17, op::SAVE_NONVOL, 3),
            6, // 0x30 / 8
            code(12, op::SET_FPREG, 0),
            code(7, op::ALLOC_SMALL, 7), // 0x40
            code(3, op::PUSH_NONVOL, 7),
            code(2, op::PUSH_NONVOL, 6),
            code(1, op::PUSH_NONVOL, 5),
        ],
        ..Info::default()
    });
    b.function(0x2000, 0x2100, info);
    let (image, mut mem) = b.build();
    mem.write_u64(ENTRY_RSP, RETURN);
    mem.write_u64(ENTRY_RSP - 8, 0x1000_0006); // rbp
    mem.write_u64(ENTRY_RSP - 16, 0x1000_0004); // rsi
    mem.write_u64(ENTRY_RSP - 24, 0x1000_0005); // rdi
    mem.write_u64(ENTRY_RSP - 0x28, 0x1000_0003); // rbx at rsp + 0x30
    (image, mem)
}

#[test]
fn full_prolog_with_frame_pointer_and_dynamic_stack() {
    let (image, mem) = framed();
    // In the body, below a further 0x100-byte dynamic allocation.
    let mut r = regs(BASE + 0x2040, ENTRY_RSP - 0x58 - 0x100);
    r.gpr[RBP] = Some(ENTRY_RSP - 0x38);
    step(&image, &mut r, &mem).unwrap();
    assert_eq!(r.rip, RETURN);
    assert_eq!(r.rsp(), Some(ENTRY_RSP + 8));
    assert_eq!(r.gpr[RBP], Some(0x1000_0006));
    assert_eq!(r.gpr[RSI], Some(0x1000_0004));
    assert_eq!(r.gpr[RDI], Some(0x1000_0005));
    assert_eq!(r.gpr[RBX], Some(0x1000_0003));
    for volatile in VOLATILE {
        assert_eq!(r.gpr[volatile], None);
    }
    assert_eq!(r.gpr[R12], Some(0xbad), "untouched nonvolatile kept");
}

#[test]
fn partial_prolog_skips_codes_not_yet_run() {
    let (image, mem) = framed();
    // (offset, RSP below entry, RBP set, registers restored)
    let cases: [(u64, u64, bool, &[usize]); 6] = [
        (0, 0, false, &[]),
        (1, 8, false, &[RBP]),
        (2, 16, false, &[RBP, RSI]),
        (3, 24, false, &[RBP, RSI, RDI]),
        (7, 0x58, false, &[RBP, RSI, RDI]),
        (12, 0x58, true, &[RBP, RSI, RDI]),
    ];
    for (offset, below, fp, restored) in cases {
        let mut r = regs(BASE + 0x2000 + offset, ENTRY_RSP - below);
        if fp {
            r.gpr[RBP] = Some(ENTRY_RSP - 0x38);
        }
        step(&image, &mut r, &mem).unwrap();
        assert_eq!(r.rip, RETURN, "offset {offset}");
        assert_eq!(r.rsp(), Some(ENTRY_RSP + 8), "offset {offset}");
        for reg in [RBP, RSI, RDI, RBX] {
            let expect = if restored.contains(&reg) {
                0x1000_0000 + reg as u64
            } else if reg == RBP && fp {
                ENTRY_RSP - 0x38
            } else {
                0xbad
            };
            assert_eq!(r.gpr[reg], Some(expect), "offset {offset} reg {reg}");
        }
    }
}

#[test]
fn large_allocations_and_far_saves() {
    let mut b = Builder::new();
    // push r12; sub rsp, 0x1008 (16-bit form); mov [rsp+0x1000], rbx
    // (far form); the second function: sub rsp, 0x12340 (32-bit form).
    let first = b.info(Info {
        prolog: 20,
        codes: &[
            code(20, op::SAVE_NONVOL_FAR, 3),
            0x1000,
            0,
            code(9, op::ALLOC_LARGE, 0),
            0x1008 / 8,
            code(2, op::PUSH_NONVOL, 12),
        ],
        ..Info::default()
    });
    let second = b.info(Info {
        prolog: 7,
        codes: &[code(7, op::ALLOC_LARGE, 1), 0x2340, 0x1],
        ..Info::default()
    });
    b.function(0x2000, 0x2100, first);
    b.function(0x2100, 0x2200, second);
    let (image, mut mem) = b.build();
    // The first function's frame spans most of a big stack.
    mem.regions[1] = (STACK - 0x20000, vec![0; 0x21000]);
    mem.write_u64(ENTRY_RSP, RETURN);
    mem.write_u64(ENTRY_RSP - 8, 0x1200);
    let body_rsp = ENTRY_RSP - 8 - 0x1008;
    mem.write_u64(body_rsp + 0x1000, 0x1300);
    let mut r = regs(BASE + 0x2050, body_rsp);
    step(&image, &mut r, &mem).unwrap();
    assert_eq!((r.rip, r.rsp()), (RETURN, Some(ENTRY_RSP + 8)));
    assert_eq!((r.gpr[R12], r.gpr[RBX]), (Some(0x1200), Some(0x1300)));

    let mut r = regs(BASE + 0x2150, ENTRY_RSP - 0x12340);
    step(&image, &mut r, &mem).unwrap();
    assert_eq!((r.rip, r.rsp()), (RETURN, Some(ENTRY_RSP + 8)));
}

#[test]
fn chained_info_is_undone_in_full() {
    let mut b = Builder::new();
    // Parent at 0x2000: push rbx; sub rsp, 0x20 (prolog 5 bytes).
    let parent = b.info(Info {
        prolog: 5,
        codes: &[code(5, op::ALLOC_SMALL, 3), code(1, op::PUSH_NONVOL, 3)],
        ..Info::default()
    });
    // A separated chunk at 0x2100 whose own prolog is `push r12` (2
    // bytes); one code, so the chained entry sits after a padding slot.
    let chunk = b.info(Info {
        prolog: 2,
        codes: &[code(2, op::PUSH_NONVOL, 12)],
        chain: Some([0x2000, 0x2080, parent]),
        ..Info::default()
    });
    b.function(0x2000, 0x2080, parent);
    b.function(0x2100, 0x2180, chunk);
    let (image, mut mem) = b.build();
    mem.write_u64(ENTRY_RSP, RETURN);
    mem.write_u64(ENTRY_RSP - 8, 0x1003);
    mem.write_u64(ENTRY_RSP - 0x30, 0x100c);

    // At the chunk's start: r12 not pushed yet; the parent's prolog ran.
    let mut r = regs(BASE + 0x2100, ENTRY_RSP - 0x28);
    step(&image, &mut r, &mem).unwrap();
    assert_eq!((r.rip, r.rsp()), (RETURN, Some(ENTRY_RSP + 8)));
    assert_eq!((r.gpr[RBX], r.gpr[R12]), (Some(0x1003), Some(0xbad)));

    // In the chunk's body: r12 pushed too.
    let mut r = regs(BASE + 0x2110, ENTRY_RSP - 0x30);
    step(&image, &mut r, &mem).unwrap();
    assert_eq!((r.rip, r.rsp()), (RETURN, Some(ENTRY_RSP + 8)));
    assert_eq!((r.gpr[RBX], r.gpr[R12]), (Some(0x1003), Some(0x100c)));
}

#[test]
fn chain_loop_is_refused() {
    let mut b = Builder::new();
    // The info's chained entry names the info itself.
    let rva = b.next_info;
    b.info(Info {
        codes: &[code(0, op::ALLOC_SMALL, 0)],
        chain: Some([0x2000, 0x2100, rva]),
        ..Info::default()
    });
    b.function(0x2000, 0x2100, rva);
    let (image, mem) = b.build();
    let mut r = regs(BASE + 0x2010, ENTRY_RSP - 0x800);
    assert_eq!(step(&image, &mut r, &mem), Err(StopReason::BadUnwindInfo));
}

#[test]
fn leaf_function_returns_through_rsp() {
    let (image, mut mem) = framed();
    mem.write_u64(ENTRY_RSP, RETURN);
    // 0x3000 has no RUNTIME_FUNCTION.
    let mut r = regs(BASE + 0x3000, ENTRY_RSP);
    step(&image, &mut r, &mem).unwrap();
    assert_eq!((r.rip, r.rsp()), (RETURN, Some(ENTRY_RSP + 8)));
    assert_eq!(r.gpr[RBX], Some(0xbad));
    assert_eq!(r.gpr[0], None);
}

#[test]
fn machine_frame_gives_rip_and_rsp() {
    for error_code in [0u8, 1] {
        let mut b = Builder::new();
        // An interrupt stub: the CPU pushed a machine frame, then push rbp.
        let info = b.info(Info {
            prolog: 1,
            codes: &[
                code(1, op::PUSH_NONVOL, 5),
                code(0, op::PUSH_MACHFRAME, error_code),
            ],
            ..Info::default()
        });
        b.function(0x2000, 0x2100, info);
        let (image, mut mem) = b.build();
        let frame = ENTRY_RSP + 8 * u64::from(error_code);
        mem.write_u64(frame, 0x1_4000_2abc); // RIP
        mem.write_u64(frame + 24, STACK + 0xf00); // RSP
        mem.write_u64(ENTRY_RSP - 8, 0x1006);
        let mut r = regs(BASE + 0x2010, ENTRY_RSP - 8);
        step(&image, &mut r, &mem).unwrap();
        assert_eq!(r.rip, 0x1_4000_2abc);
        assert_eq!(r.rsp(), Some(STACK + 0xf00));
        assert_eq!(r.gpr[RBP], Some(0x1006));
    }
}

#[test]
fn version_2_epilog_codes_are_skipped() {
    let mut b = Builder::new();
    let info = b.info(Info {
        version: 2,
        prolog: 1,
        codes: &[
            code(3, op::EPILOG, 1),
            code(0, op::EPILOG, 0),
            code(1, op::PUSH_NONVOL, 3),
        ],
        ..Info::default()
    });
    b.function(0x2000, 0x2100, info);
    let (image, mut mem) = b.build();
    mem.write_u64(ENTRY_RSP, RETURN);
    mem.write_u64(ENTRY_RSP - 8, 0x1003);
    let mut r = regs(BASE + 0x2010, ENTRY_RSP - 8);
    step(&image, &mut r, &mem).unwrap();
    assert_eq!((r.rip, r.rsp()), (RETURN, Some(ENTRY_RSP + 8)));
    assert_eq!(r.gpr[RBX], Some(0x1003));
}

/// `step` on one function with the given codes (version `version`).
fn step_one(version: u8, codes: &[u16], rsp: u64) -> core::result::Result<Registers, StopReason> {
    let mut b = Builder::new();
    let info = b.info(Info {
        version,
        prolog: 8,
        codes,
        ..Info::default()
    });
    b.function(0x2000, 0x2100, info);
    let (image, mut mem) = b.build();
    mem.write_u64(ENTRY_RSP, RETURN);
    let mut r = regs(BASE + 0x2010, rsp);
    step(&image, &mut r, &mem).map(|()| r)
}

#[test]
fn malformed_info_and_frames_are_errors() {
    use StopReason::*;
    let push = code(1, op::PUSH_NONVOL, 3);
    assert!(step_one(1, &[push], ENTRY_RSP - 8).is_ok());
    assert_eq!(step_one(3, &[push], ENTRY_RSP - 8), Err(BadUnwindInfo));
    assert_eq!(step_one(0, &[push], ENTRY_RSP - 8), Err(BadUnwindInfo));
    assert_eq!(step_one(1, &[code(1, 7, 0)], ENTRY_RSP), Err(BadUnwindInfo));
    assert_eq!(
        step_one(1, &[code(1, 11, 0)], ENTRY_RSP),
        Err(BadUnwindInfo)
    );
    assert_eq!(
        step_one(1, &[code(0, op::EPILOG, 0), 0], ENTRY_RSP),
        Err(BadUnwindInfo),
        "UWOP_EPILOG needs version 2"
    );
    assert_eq!(
        step_one(1, &[code(2, op::SAVE_NONVOL, 3)], ENTRY_RSP),
        Err(BadUnwindInfo),
        "operand slot past CountOfCodes"
    );
    assert_eq!(
        step_one(1, &[code(1, op::ALLOC_LARGE, 2), 1, 1], ENTRY_RSP),
        Err(BadUnwindInfo)
    );
    assert_eq!(
        step_one(1, &[code(1, op::PUSH_NONVOL, 4)], ENTRY_RSP),
        Err(BadUnwindInfo),
        "RSP is not pushed"
    );
    assert_eq!(
        step_one(1, &[code(1, op::SET_FPREG, 0)], ENTRY_RSP),
        Err(BadUnwindInfo),
        "SET_FPREG without a frame register"
    );
    assert_eq!(
        step_one(1, &[code(1, op::ALLOC_LARGE, 1), 0, 0x10], ENTRY_RSP),
        Err(Unreadable),
        "return address beyond the mapped stack"
    );
    // Return address 0.
    let (image, mut mem) = framed();
    mem.write_u64(ENTRY_RSP, 0);
    let mut r = regs(BASE + 0x2000, ENTRY_RSP);
    assert_eq!(step(&image, &mut r, &mem), Err(BadFrame));
    let mut outside = regs(BASE - 1, ENTRY_RSP);
    assert_eq!(step(&image, &mut outside, &mem), Err(NoUnwindInfo));
    outside.rip = BASE + IMAGE_SIZE as u64;
    assert_eq!(step(&image, &mut outside, &mem), Err(NoUnwindInfo));
    let mut no_rsp = regs(BASE + 0x2000, 0);
    no_rsp.gpr[reg::RSP] = None;
    assert_eq!(step(&image, &mut no_rsp, &mem), Err(Unreadable));
    // A frame register that is not known when the saves need it.
    let mut r = regs(BASE + 0x2040, ENTRY_RSP - 0x58);
    r.gpr[RBP] = None;
    assert_eq!(step(&image, &mut r, &mem), Err(Unreadable));
    // A machine frame whose RSP is below the current one.
    let mut b = Builder::new();
    let info = b.info(Info {
        codes: &[code(0, op::PUSH_MACHFRAME, 0)],
        ..Info::default()
    });
    b.function(0x2000, 0x2100, info);
    let (image, mut mem) = b.build();
    mem.write_u64(ENTRY_RSP + 24, ENTRY_RSP - 0x100);
    let mut r = regs(BASE + 0x2000, ENTRY_RSP);
    assert_eq!(step(&image, &mut r, &mem), Err(BadFrame));
    // `.pdata` that claims to run past the image.
    let bad = Image {
        pdata_size: u32::MAX,
        ..image
    };
    let mut r = regs(BASE + 0x2000, ENTRY_RSP);
    assert_eq!(step(&bad, &mut r, &mem), Err(BadUnwindInfo));
}
