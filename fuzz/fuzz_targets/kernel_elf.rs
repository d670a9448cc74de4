//! A kernel ELF from the fuzzer, through the loader's load planner.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = handoff::elf::plan(data);
});
