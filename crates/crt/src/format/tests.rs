//! Host tests of the printf engine against fixed expectations.

use super::*;
use std::f64::consts::PI;

fn fmt(f: &str, args: &[Arg]) -> String {
    let mut buf = [0u8; 512];
    let mut sink = BufferSink::new(&mut buf);
    let n = format(&mut sink, f.as_bytes(), &mut ArgList::new(args));
    let stored = sink.finish();
    assert_eq!(n, stored, "{f}: count vs stored");
    String::from_utf8(buf[..stored].to_vec()).unwrap()
}

fn i(v: i64) -> Arg<'static> {
    Arg::Int(v)
}

#[test]
fn integers() {
    assert_eq!(
        fmt("%d|%i|%u", &[i(-42), i(7), i(3_000_000_000)]),
        "-42|7|3000000000"
    );
    assert_eq!(
        fmt("%5d|%-5d|%05d", &[i(42), i(42), i(-42)]),
        "   42|42   |-0042"
    );
    assert_eq!(fmt("%+d|% d|%+d", &[i(5), i(5), i(-5)]), "+5| 5|-5");
    assert_eq!(fmt("%.3d|%.0d|%5.0d|", &[i(7), i(0), i(0)]), "007||     |");
    assert_eq!(
        fmt("%x|%X|%#x|%#X|%#x", &[i(255), i(255), i(255), i(255), i(0)]),
        "ff|FF|0xff|0XFF|0"
    );
    assert_eq!(
        fmt("%o|%#o|%#o|%#.0o", &[i(8), i(8), i(0), i(0)]),
        "10|010|0|0"
    );
    assert_eq!(fmt("%08.3d|%-08d|", &[i(12), i(12)]), "     012|12      |");
    assert_eq!(fmt("%#010x", &[i(0xbeef)]), "0x0000beef");
}

#[test]
fn lengths_follow_win64() {
    // Upper slot bits are garbage a callee must ignore for 32-bit types.
    let g = 0x1234_5678_ffff_fffe_u64 as i64;
    assert_eq!(
        fmt("%d|%u|%x", &[i(g), i(g), i(g)]),
        "-2|4294967294|fffffffe"
    );
    assert_eq!(fmt("%ld|%lu", &[i(g), i(g)]), "-2|4294967294");
    assert_eq!(
        fmt("%lld|%I64x|%zu", &[i(-1), i(g), i(-1)]),
        "-1|12345678fffffffe|18446744073709551615"
    );
    assert_eq!(
        fmt(
            "%hhd|%hhu|%hd|%hu",
            &[i(0x1ff), i(0x1ff), i(0x18000), i(0x18000)]
        ),
        "-1|255|-32768|32768"
    );
    assert_eq!(
        fmt("%jd|%td|%Id|%I32d", &[i(i64::MIN), i(-3), i(-4), i(g)]),
        "-9223372036854775808|-3|-4|-2"
    );
}

#[test]
fn chars_strings_pointers() {
    let s = Arg::Str(Some(b"ferrite"));
    assert_eq!(
        fmt("%c%c|%3c|%-3c|", &[i(72), i(0x169), i(65), i(66)]),
        "Hi|  A|B  |"
    );
    assert_eq!(
        fmt("[%s][%10s][%-10s][%.3s][%.*s]", &[s, s, s, s, i(2), s]),
        "[ferrite][   ferrite][ferrite   ][fer][fe]"
    );
    assert_eq!(
        fmt("%s|%.3s", &[Arg::Str(None), Arg::Str(None)]),
        "(null)|(nu"
    );
    assert_eq!(
        fmt("%p|%p|%18p", &[i(0x1_4000_1000), i(0), i(0xabc)]),
        "0x140001000|0x0|             0xabc"
    );
    assert_eq!(
        fmt("%*d|%-*d|%*d", &[i(4), i(1), i(4), i(2), i(-4), i(3)]),
        "   1|2   |3   "
    );
    assert_eq!(fmt("%.*d", &[i(-1), i(5)]), "5");
}

#[test]
fn percent_unknown_count_and_truncation() {
    assert_eq!(fmt("100%%", &[]), "100%");
    assert_eq!(fmt("a%yb", &[]), "a%yb");
    assert_eq!(fmt("%n|%d", &[i(0), i(9)]), "|9");
    assert_eq!(fmt("trailing %", &[]), "trailing %");
    let mut small = [0x55u8; 6];
    let mut sink = BufferSink::new(&mut small);
    let n = format(
        &mut sink,
        b"%d-%s",
        &mut ArgList::new(&[i(12345), Arg::Str(Some(b"xyz"))]),
    );
    assert_eq!((n, sink.finish()), (9, 5));
    assert_eq!(&small, b"12345\0");
    let mut none: [u8; 0] = [];
    let mut sink = BufferSink::new(&mut none);
    assert_eq!(format(&mut sink, b"abc", &mut ArgList::new(&[])), 3);
    assert_eq!(sink.finish(), 0);
}

#[test]
fn floats() {
    let f = Arg::Float;
    assert_eq!(
        fmt("%f|%.2f|%.0f|%#.0f", &[f(PI), f(2.675), f(2.5), f(3.0)]),
        "3.141593|2.67|2|3."
    );
    assert_eq!(
        fmt("%e|%.2E|%e", &[f(12345.678), f(0.000123), f(0.0)]),
        "1.234568e+04|1.23E-04|0.000000e+00"
    );
    assert_eq!(
        fmt("%g|%g|%g|%g", &[f(100000.0), f(1e6), f(0.0001), f(0.00001)]),
        "100000|1e+06|0.0001|1e-05"
    );
    assert_eq!(
        fmt("%g|%.3g|%#g|%G", &[f(1.5), f(PI), f(1.5), f(1e-10)]),
        "1.5|3.14|1.50000|1E-10"
    );
    assert_eq!(
        fmt(
            "%8.3f|%-8.2f|%08.2f|%+.1f",
            &[f(PI), f(-1.5), f(-1.5), f(2.0)]
        ),
        "   3.142|-1.50   |-0001.50|+2.0"
    );
    assert_eq!(
        fmt(
            "%f|%F|%5f|%-6e|%05f",
            &[
                f(f64::INFINITY),
                f(f64::NAN),
                f(f64::NEG_INFINITY),
                f(f64::NAN),
                f(f64::INFINITY)
            ]
        ),
        "inf|NAN| -inf|nan   |  inf"
    );
    assert_eq!(fmt("%.1f|%f", &[f(-0.04), f(-0.0)]), "-0.0|-0.000000");
    assert_eq!(fmt("%e|%g", &[f(1e300), f(1e-300)]), "1.000000e+300|1e-300");
}

#[test]
fn fixed_width_of_huge_values() {
    let s = fmt("%.0f", &[Arg::Float(1e308)]);
    assert_eq!(s.len(), 309);
    assert!(s.starts_with("1000000000000000010979"));
}
