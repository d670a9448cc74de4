//! The sscanf engine against the host C library's `sscanf`: fixed cases
//! and generated inputs, compared by return value and by every byte each
//! conversion stores (only formats that mean the same on Linux and Win64:
//! no `%l`, which is 64 bits on LP64 and 32 on LLP64).

use crt::scan::{scan, Store, EOF};
use std::ffi::{c_char, c_int, CString};

unsafe extern "C" {
    fn sscanf(input: *const c_char, fmt: *const c_char, ...) -> c_int;
}

const TARGETS: usize = 6;
const TARGET_BYTES: usize = 256;
type Targets = [[u8; TARGET_BYTES]; TARGETS];

/// Our engine's stores, into the same kind of target buffers the host
/// call writes.
struct Buffers {
    targets: Box<Targets>,
    next: usize,
}

impl Store for Buffers {
    fn integer(&mut self, bytes: usize, value: u64) {
        let t = &mut self.targets[self.next];
        t[..bytes].copy_from_slice(&value.to_le_bytes()[..bytes]);
        self.next += 1;
    }

    fn text(&mut self, text: &[u8], nul: bool) {
        let t = &mut self.targets[self.next];
        t[..text.len()].copy_from_slice(text);
        if nul {
            t[text.len()] = 0;
        }
        self.next += 1;
    }
}

fn ours(input: &str, fmt: &str) -> (i32, Box<Targets>) {
    let mut b = Buffers {
        targets: Box::new([[0xAA; TARGET_BYTES]; TARGETS]),
        next: 0,
    };
    let n = scan(input.as_bytes(), fmt.as_bytes(), &mut b);
    (n, b.targets)
}

fn theirs(input: &str, fmt: &str) -> (i32, Box<Targets>) {
    let mut t: Box<Targets> = Box::new([[0xAA; TARGET_BYTES]; TARGETS]);
    let i = CString::new(input).unwrap();
    let f = CString::new(fmt).unwrap();
    let p: Vec<*mut u8> = t.iter_mut().map(|b| b.as_mut_ptr()).collect();
    // SAFETY: every format used here makes at most TARGETS assignments,
    // each of at most TARGET_BYTES bytes (inputs are shorter than that);
    // arguments past the last conversion are ignored (C11 §7.21.6.2p2).
    let n = unsafe { sscanf(i.as_ptr(), f.as_ptr(), p[0], p[1], p[2], p[3], p[4], p[5]) };
    (n, t)
}

#[track_caller]
fn same(input: &str, fmt: &str) {
    let (n_ours, t_ours) = ours(input, fmt);
    let (n_theirs, t_theirs) = theirs(input, fmt);
    assert_eq!(n_ours, n_theirs, "count of {fmt:?} on {input:?}");
    for k in 0..TARGETS {
        assert_eq!(
            t_ours[k][..16],
            t_theirs[k][..16],
            "target {k} of {fmt:?} on {input:?}"
        );
        assert!(
            t_ours[k] == t_theirs[k],
            "target {k} of {fmt:?} on {input:?}"
        );
    }
}

#[test]
fn dooms_formats_match_the_host_libc() {
    let inputs = [
        "0x1f",
        " 0x1F",
        "0X7fff",
        " 0X10",
        " 017",
        "0777",
        " 42",
        "-42",
        "x",
        "",
        "   ",
        "0x",
        "0xg",
        "08",
        "-0x10",
        "+7",
        "  123abc",
        "2147483647",
        "-2147483648",
        "ffffffff",
    ];
    for input in inputs {
        for fmt in [" 0x%x", " 0X%x", " 0%o", " %d", "%x", "%i"] {
            same(input, fmt);
            same(input, &format!("{fmt}%n"));
        }
    }
}

#[test]
fn conversions_match_the_host_libc() {
    let cases = [
        ("12 34 56", "%d %d %d"),
        ("12 34 56", "%d%d%n%d%n"),
        ("12abc", "%d%s"),
        ("  hello world", "%s %s%n"),
        ("hello", "%3s%s"),
        ("hello", "%c%2c%n"),
        ("  x", "%c"),
        ("abc", "%5c"),
        ("1,2", "%d,%d"),
        ("1 , 2", "%d , %d"),
        ("1;2", "%d,%d"),
        ("100%", "%d%%"),
        ("100 %", "%d%%%n"),
        ("-1 -1 -1", "%u %hu %hhu"),
        ("70000 300", "%hd %hhd"),
        ("99999999999999999999", "%lld"),
        ("-99999999999999999999", "%lld"),
        ("99999999999999999999", "%llu"),
        ("-5", "%llu"),
        ("12345", "%2d%2d%d"),
        ("0x1234", "%3x%x"),
        ("0x1234", "%2i%n"),
        ("0777 0x1f 12", "%i %i %i"),
        ("0777", "%o%n"),
        ("089", "%o%d"),
        ("1 2 3", "%*d %d %*d%n"),
        ("abc 123", "%*s %d"),
        ("0x7ffdeadbeef", "%p"),
        ("deadbeef", "%X"),
        ("  ", "%d"),
        ("", "%n"),
        ("", "abc%d"),
        ("abd", "abc%d"),
        ("ab", "abc%d"),
        ("a", " %c"),
        ("key = value", "%[a-z] = %[^\n]"),
        ("]]x", "%[]]%n"),
        ("abc-def", "%[a-c-]%n"),
        ("123", "%[^0-9]"),
        ("abcdef", "%2[a-z]%s"),
        ("5 6", "%d%*[ ]%d"),
        ("-", "%d"),
        ("+", "%i%n"),
        ("- 5", "%d"),
        ("9223372036854775807 -9223372036854775808", "%lld %lld"),
        ("18446744073709551615 18446744073709551616", "%llu %llu"),
        ("%", "%%"),
        ("", "%%"),
        ("x", "%%"),
    ];
    for (input, fmt) in cases {
        same(input, fmt);
    }
}

#[test]
fn win64_sizes() {
    // `%ld` stores 32 bits on LLP64 (it would be 64 on the host).
    let (n, t) = ours("-2 7", "%ld %lu");
    assert_eq!(n, 2);
    assert_eq!(&t[0][..5], &[0xfe, 0xff, 0xff, 0xff, 0xAA]);
    assert_eq!(&t[1][..5], &[7, 0, 0, 0, 0xAA]);
    let (n, t) = ours("-2 7 9", "%I64d %I32d %zu");
    assert_eq!(n, 3);
    assert_eq!(t[0][..8], (-2i64).to_le_bytes());
    assert_eq!(&t[1][..5], &[7, 0, 0, 0, 0xAA]);
    assert_eq!(&t[2][..9], &[9, 0, 0, 0, 0, 0, 0, 0, 0xAA]);
    // Floating point and wide text stop the scan.
    assert_eq!(ours("1 2.5", "%d %f").0, 1);
    assert_eq!(ours("ab", "%ls").0, 0);
    assert_eq!(ours("", "%d").0, EOF);
}

/// A small deterministic generator (xorshift64*): cheap random cases
/// without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn generated_inputs_match_the_host_libc() {
    const ALPHABET: &[u8] = b" \t+-0123456789abcdefABCDEFxXg%,";
    const FORMATS: &[&str] = &[
        "%d%n",
        "%i%n",
        "%x%n",
        "%X%n",
        "%o%n",
        "%u%n",
        " 0x%x%n",
        " 0X%x%n",
        " 0%o%n",
        " %d%n",
        "%i%n%i%n",
        "%3d%n%d",
        "%2x%n%x",
        "%hhd%n",
        "%hi%n",
        "%lld%n",
        "%lli%n",
        "%*d%n%d",
        "%5i%n",
        "%d,%d%n",
        "%x%%%n",
        "%s%n",
        "%c%3c%n",
        "%[0-9a-f]%n",
        "%*i%i%n",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let len = rng.below(17);
        let input: String = (0..len)
            .map(|_| char::from(ALPHABET[rng.below(ALPHABET.len())]))
            .collect();
        let fmt = FORMATS[rng.below(FORMATS.len())];
        same(&input, fmt);
    }
    // Numbers across the whole range, in every base's spelling.
    for _ in 0..5_000 {
        let v = rng.next() as i64 >> rng.below(64);
        same(
            &format!("{v} {:x} {:o}", v as u32, v as u32),
            "%lld %x %o%n",
        );
        same(
            &format!("{} {:#x} 0{:o}", v as i32, v as i32, v as i32),
            "%i %i %i%n",
        );
        same(&format!("-{:#X}", v as u64), "%llx%n");
    }
}
