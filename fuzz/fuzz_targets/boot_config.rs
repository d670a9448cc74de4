//! A limine.conf from the fuzzer, through the loader's parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = handoff::config::parse(data);
});
