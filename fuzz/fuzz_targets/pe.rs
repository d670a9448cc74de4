//! A PE32+ file from the fuzzer: parsed, loaded at two bases, and planned
//! as a process whose every DLL is the same bytes. Only a panic (or a
//! sanitizer report) is a finding; errors are the expected answer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = pe::parse(data) {
        let _ = file.load(data, file.preferred_base());
        let _ = file.load(data, 0x7fff_0000_0000);
    }
    let files = |_: &str| Some(data);
    let mut next = 0x10_0000_0000u64;
    let _ = pe::plan_process("fuzz.exe", &files, &mut |_, _, size| {
        let base = next;
        next = next.wrapping_add((size + 0xfff) & !0xfff);
        base
    });
});
