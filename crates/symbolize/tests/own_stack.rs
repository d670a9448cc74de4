//! The crate and the unwinder against this very test binary: walk the
//! real stack of three nested calls and name each frame from the DWARF.
//!
//! Expected names, files and lines come from the source itself (`line!()`
//! and the functions' text), and the load address from `/proc/self/maps`,
//! so a wrong unit, line row, inline chain or CFA rule fails the test.

use std::arch::asm;
use symbolize::{demangled, Symbols};
use unwind::dwarf::{CallFrameInfo, Scratch};
use unwind::{reg, Memory, Registers};

/// Reads this thread's stack, and nothing else: 1 MiB above where the
/// walk started.
struct OwnStack {
    low: u64,
    high: u64,
}

impl Memory for OwnStack {
    fn read_u64(&self, address: u64) -> Option<u64> {
        if address < self.low || address.checked_add(8)? > self.high || !address.is_multiple_of(8) {
            return None;
        }
        // SAFETY: the range is this thread's live stack above the walk's
        // starting RSP (the frames of the functions still running), which
        // is mapped and not written while the walk reads it.
        Some(unsafe { core::ptr::read_volatile(address as *const u64) })
    }
}

/// Where this executable is loaded: the start of its first mapping (file
/// offset 0) in `/proc/self/maps`; a PIE links at 0, so this is the bias.
fn load_bias() -> u64 {
    let exe = std::fs::read_link("/proc/self/exe").unwrap();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let line = maps
        .lines()
        .find(|l| {
            l.ends_with(exe.to_str().unwrap()) && l.split_whitespace().nth(2) == Some("00000000")
        })
        .expect("the executable's first mapping");
    u64::from_str_radix(line.split('-').next().unwrap(), 16).unwrap()
}

/// The registers here: RIP, RSP, RBP and RBX.
#[inline(always)]
fn here() -> Registers {
    let (rip, rsp, rbp, rbx): (u64, u64, u64, u64);
    // SAFETY: reads four registers into outputs; no memory is touched.
    unsafe {
        asm!(
            "lea {rip}, [rip]",
            "mov {rsp}, rsp",
            "mov {rbp}, rbp",
            "mov {rbx}, rbx",
            rip = out(reg) rip, rsp = out(reg) rsp, rbp = out(reg) rbp, rbx = out(reg) rbx,
        );
    }
    let mut regs = Registers {
        rip,
        ..Registers::default()
    };
    regs.gpr[reg::RSP] = Some(rsp);
    regs.gpr[reg::RBP] = Some(rbp);
    regs.gpr[reg::RBX] = Some(rbx);
    regs
}

#[inline(never)]
fn outer_call() -> Vec<(String, String, u32)> {
    let walk = middle_call();
    std::hint::black_box(walk)
}

#[inline(never)]
fn middle_call() -> Vec<(String, String, u32)> {
    let walk = inner_call();
    std::hint::black_box(walk)
}

#[inline(never)]
fn inner_call() -> Vec<(String, String, u32)> {
    let regs = here();
    walk_from(regs)
}

/// Unwinds from `regs` and names every frame: (function, file, line) per
/// function, inlined ones included.
fn walk_from(mut regs: Registers) -> Vec<(String, String, u32)> {
    let file = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let symbols = Symbols::new(&file).unwrap();
    let bias = load_bias();
    let (eh_frame, eh_address) = symbols.section(".eh_frame").unwrap_or((&[], 0));
    let (debug_frame, _) = symbols.section(".debug_frame").unwrap_or((&[], 0));
    let cfi = CallFrameInfo::new(debug_frame, eh_frame, eh_address, bias);
    let start = regs.rsp().unwrap();
    let stack = OwnStack {
        low: start,
        high: start + (1 << 20),
    };
    let mut scratch = Scratch::new();
    let mut out = Vec::new();
    let mut first = true;
    for _ in 0..64 {
        let pc = if first { regs.rip } else { regs.rip - 1 } - bias;
        let _ = symbols.frames(pc, |f| {
            let name = f
                .function
                .map(|n| demangled(n).to_string())
                .unwrap_or_default();
            let (file, line) = f
                .location
                .map(|l| (format!("{}/{}", l.directory, l.file), l.line))
                .unwrap_or_default();
            out.push((name, file, line));
        });
        if cfi.step(&mut scratch, &mut regs, &stack, first).is_err() {
            break;
        }
        first = false;
    }
    out
}

/// The lines of `fn name` in this file: from its `fn` line to the next
/// line that is only `}`.
fn lines_of(name: &str) -> std::ops::RangeInclusive<u32> {
    let source = include_str!("own_stack.rs");
    let lines: Vec<&str> = source.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with(&format!("fn {name}(")))
        .unwrap();
    let end = start + lines[start..].iter().position(|l| *l == "}").unwrap();
    (start as u32 + 1)..=(end as u32 + 1)
}

#[test]
fn the_real_stack_names_each_function_with_its_line() {
    let frames = outer_call();
    let names: Vec<&str> = frames.iter().map(|f| f.0.as_str()).collect();
    let position = |name: &str| {
        names
            .iter()
            .position(|n| n.ends_with(&format!("own_stack::{name}")))
            .unwrap_or_else(|| panic!("{name} missing from {frames:#?}"))
    };
    let (inner, middle, outer) = (
        position("inner_call"),
        position("middle_call"),
        position("outer_call"),
    );
    assert!(inner < middle && middle < outer, "order: {frames:#?}");
    // `here()` is inlined into inner_call: it comes first, marked by its
    // own lines.
    let here = position("here");
    assert!(here < inner, "{frames:#?}");
    for (index, name) in [
        (here, "here"),
        (inner, "inner_call"),
        (middle, "middle_call"),
        (outer, "outer_call"),
    ] {
        let (_, file, line) = &frames[index];
        assert!(file.ends_with("tests/own_stack.rs"), "{name}: {file}");
        assert!(
            lines_of(name).contains(line),
            "{name} at line {line}, outside {:?}",
            lines_of(name)
        );
    }
}
