//! Tests of the QMP JSON encoder and parser.

use super::{parse, JsonErrorKind, Value};

/// A xorshift generator: deterministic "random" inputs without a crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn kind(text: &str) -> Option<JsonErrorKind> {
    parse(text).err().map(|e| e.kind)
}

#[test]
fn parses_a_qmp_greeting() {
    let text = r#"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian"}, "capabilities": ["oob"]}}"#;
    let v = parse(text).expect("greeting parses");
    let qemu = v
        .get("QMP")
        .and_then(|q| q.get("version"))
        .and_then(|q| q.get("qemu"));
    assert_eq!(qemu.and_then(|q| q.get("major")), Some(&Value::Int(7)));
    assert_eq!(
        v.get("QMP").and_then(|q| q.get("capabilities")),
        Some(&Value::Array(vec![Value::str("oob")]))
    );
}

#[test]
fn parses_scalars_and_escapes() {
    assert_eq!(parse(" null "), Ok(Value::Null));
    assert_eq!(parse("true"), Ok(Value::Bool(true)));
    assert_eq!(parse("-12"), Ok(Value::Int(-12)));
    assert_eq!(parse("1.5e2"), Ok(Value::Float(150.0)));
    assert_eq!(parse("0.25"), Ok(Value::Float(0.25)));
    assert_eq!(
        parse(r#""a\"b\\c\/\n\t\u00e9\ud83d\ude00""#),
        Ok(Value::str("a\"b\\c/\n\té😀"))
    );
    // Beyond i64: still a number.
    assert_eq!(
        parse("18446744073709551616"),
        Ok(Value::Float(18446744073709551616.0))
    );
}

#[test]
fn refuses_malformed_text() {
    assert_eq!(kind(""), Some(JsonErrorKind::UnexpectedEnd));
    assert_eq!(kind("{\"a\":1"), Some(JsonErrorKind::UnexpectedEnd));
    assert_eq!(kind("[1,]"), Some(JsonErrorKind::UnexpectedByte(b']')));
    assert_eq!(kind("{\"a\" 1}"), Some(JsonErrorKind::UnexpectedByte(b'1')));
    assert_eq!(kind("01"), Some(JsonErrorKind::BadNumber));
    assert_eq!(kind("-"), Some(JsonErrorKind::BadNumber));
    assert_eq!(kind("1."), Some(JsonErrorKind::BadNumber));
    assert_eq!(kind("1e"), Some(JsonErrorKind::BadNumber));
    assert_eq!(kind("1e999"), Some(JsonErrorKind::BadNumber));
    assert_eq!(kind(r#""\x""#), Some(JsonErrorKind::BadEscape));
    assert_eq!(kind(r#""\ud800""#), Some(JsonErrorKind::BadEscape));
    assert_eq!(kind(r#""\udc00""#), Some(JsonErrorKind::BadEscape));
    assert_eq!(kind(r#""\u12""#), Some(JsonErrorKind::BadEscape));
    assert_eq!(kind("\"a\nb\""), Some(JsonErrorKind::ControlInString));
    assert_eq!(kind("{} {}"), Some(JsonErrorKind::TrailingData));
    assert_eq!(kind("nul"), Some(JsonErrorKind::UnexpectedEnd));
    assert_eq!(kind("trux"), Some(JsonErrorKind::UnexpectedByte(b'x')));
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
    assert!(parse(&ok).is_ok());
    let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
    assert_eq!(kind(&deep), Some(JsonErrorKind::TooDeep));
    // A hostile line of a million brackets: an error, not a stack overflow.
    assert_eq!(
        kind(&"[{\"a\":".repeat(1 << 20)),
        Some(JsonErrorKind::TooDeep)
    );
}

#[test]
fn encodes_commands_compactly_and_escaped() {
    let cmd = Value::object([
        ("execute", Value::str("send-key")),
        (
            "arguments",
            Value::object([
                ("keys", Value::Array(vec![Value::str("a\"\\\n\u{1}")])),
                ("hold-time", Value::Int(-5)),
                ("x", Value::Float(0.5)),
                ("y", Value::Float(f64::NAN)),
                ("z", Value::Null),
                ("b", Value::Bool(false)),
            ]),
        ),
    ]);
    assert_eq!(
        cmd.to_string(),
        r#"{"execute":"send-key","arguments":{"keys":["a\"\\\n\u0001"],"hold-time":-5,"x":0.5,"y":null,"z":null,"b":false}}"#
    );
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let alphabet = ['a', 'Z', '"', '\\', '\n', '\u{1f}', 'é', '😀', '/', ' '];
    match rng.below(if depth > 3 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 1),
        2 => Value::Int(rng.next() as i64),
        3 => Value::Float((rng.next() % 1_000_000) as f64 / 64.0 + 0.5),
        4 => Value::Str(
            (0..rng.below(8))
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect(),
        ),
        5 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.below(4))
                .map(|i| (format!("k{i}\""), random_value(rng, depth + 1)))
                .collect(),
        ),
    }
}

/// Property: whatever the encoder writes, the parser reads back unchanged.
#[test]
fn encoding_round_trips() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..2000 {
        let v = random_value(&mut rng, 0);
        let text = v.to_string();
        assert_eq!(parse(&text).as_ref(), Ok(&v), "text {text}");
    }
}

/// Property: hostile text (random bytes from the JSON alphabet, and every
/// truncation and one-byte mutation of a valid reply) gives a value or an
/// error, never a panic; and it finishes.
#[test]
fn hostile_text_never_panics() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let alphabet = b"{}[]:,\"\\u0123456789abcdefe.-+ntrl \n\x01";
    for _ in 0..20_000 {
        let len = rng.below(40);
        let bytes: Vec<u8> = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        let _ = parse(&String::from_utf8_lossy(&bytes));
    }
    let reply = r#"{"error": {"class": "GenericError", "desc": "x\u00e9\ud83d\ude00"}, "id": 3}"#;
    for cut in 0..reply.len() {
        if let Some(prefix) = reply.get(..cut) {
            assert!(parse(prefix).is_err(), "prefix {prefix:?} parsed");
        }
    }
    for _ in 0..5000 {
        let mut bytes = reply.as_bytes().to_vec();
        let at = rng.below(bytes.len());
        bytes[at] = alphabet[rng.below(alphabet.len())];
        let _ = parse(&String::from_utf8_lossy(&bytes));
    }
}
