//! The trace parser (trace-format.md, versions 1 and 2). Streaming: it reads one
//! line at a time, so a trace of any length parses in constant memory.

use std::fmt;
use std::io::BufRead;

use crate::registry::Implementation;

/// The longest line the parser accepts, in bytes. Longer lines are an
/// error rather than an unbounded allocation.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// One trace command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `write DEV OFFSET VALUE [SIZE]`
    Write {
        /// Device instance name.
        dev: String,
        /// Byte offset.
        offset: u64,
        /// Value written.
        value: u64,
        /// Access size (1, 2, 4, 8).
        size: u32,
    },
    /// `read DEV OFFSET [SIZE] [= EXPECTED]`
    Read {
        /// Device instance name.
        dev: String,
        /// Byte offset.
        offset: u64,
        /// Access size (1, 2, 4, 8).
        size: u32,
        /// The value the read must return, if given.
        expected: Option<u64>,
    },
    /// `rx DEV BYTES`
    Rx {
        /// Device instance name.
        dev: String,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// `break DEV`
    Break {
        /// Device instance name.
        dev: String,
    },
    /// `advance NS`
    Advance {
        /// Nanoseconds.
        ns: u64,
    },
    /// `epoch SECONDS`
    Epoch {
        /// Unix seconds at virtual time 0.
        seconds: u64,
    },
    /// `reset [DEV]`
    Reset {
        /// The device, or every device.
        dev: Option<String>,
    },
    /// `migrate DEV [c|rust]`
    Migrate {
        /// Device instance name.
        dev: String,
        /// Target implementation (default: the other one).
        to: Option<Implementation>,
    },
    /// `config DEV NAME=VALUE ...` (version 2): creation properties.
    Config {
        /// Device instance name.
        dev: String,
        /// Property names and values, in the order written.
        properties: Vec<(String, u64)>,
    },
    /// `input DEV LINE LEVEL` (version 2): drive an input line.
    Input {
        /// Device instance name.
        dev: String,
        /// Input line, from 0.
        line: u32,
        /// Level.
        level: bool,
    },
}

impl Command {
    /// The device the command addresses, if it names one.
    pub fn device(&self) -> Option<&str> {
        match self {
            Command::Write { dev, .. }
            | Command::Read { dev, .. }
            | Command::Rx { dev, .. }
            | Command::Break { dev }
            | Command::Migrate { dev, .. }
            | Command::Config { dev, .. }
            | Command::Input { dev, .. } => Some(dev),
            Command::Reset { dev } => dev.as_deref(),
            Command::Advance { .. } | Command::Epoch { .. } => None,
        }
    }
}

impl fmt::Display for Command {
    /// The command in trace syntax (canonical spelling).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Write { dev, offset, value, size: 4 } => write!(f, "write {dev} 0x{offset:03x} 0x{value:x}"),
            Command::Write { dev, offset, value, size } => write!(f, "write {dev} 0x{offset:03x} 0x{value:x} {size}"),
            Command::Read { dev, offset, size, expected } => {
                write!(f, "read {dev} 0x{offset:03x}")?;
                if *size != 4 {
                    write!(f, " {size}")?;
                }
                if let Some(e) = expected {
                    write!(f, " = 0x{e:x}")?;
                }
                Ok(())
            }
            Command::Rx { dev, bytes } => {
                write!(f, "rx {dev} hex:")?;
                bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            Command::Break { dev } => write!(f, "break {dev}"),
            Command::Advance { ns } => write!(f, "advance {ns}"),
            Command::Epoch { seconds } => write!(f, "epoch {seconds}"),
            Command::Reset { dev: Some(dev) } => write!(f, "reset {dev}"),
            Command::Reset { dev: None } => write!(f, "reset"),
            Command::Migrate { dev, to: Some(to) } => write!(f, "migrate {dev} {to}"),
            Command::Migrate { dev, to: None } => write!(f, "migrate {dev}"),
            Command::Config { dev, properties } => {
                write!(f, "config {dev}")?;
                properties.iter().try_for_each(|(name, value)| write!(f, " {name}=0x{value:x}"))
            }
            Command::Input { dev, line, level } => write!(f, "input {dev} {line} {}", u8::from(*level)),
        }
    }
}

/// A parsed line with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLine {
    /// Line number in the file, from 1.
    pub number: u64,
    /// The command.
    pub command: Command,
}

/// A line that could not be read or parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Line number, from 1.
    pub line: u64,
    /// What was wrong and what was expected.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Splits a line into words, honouring double-quoted strings (which may
/// contain blanks and `#`) and dropping the `#` comment.
fn words(line: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\r' => i += 1,
            b'#' => break,
            _ => {
                let start = i;
                while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'#') {
                    if bytes[i] == b'"' {
                        i += 1;
                        loop {
                            match bytes.get(i) {
                                None => return Err("unterminated string (missing closing `\"`)".into()),
                                Some(b'\\') => i += 2,
                                Some(b'"') => {
                                    i += 1;
                                    break;
                                }
                                Some(_) => i += 1,
                            }
                        }
                    } else {
                        i += 1;
                    }
                }
                out.push(&line[start..i.min(line.len())]);
            }
        }
    }
    Ok(out)
}

/// Parses a number: decimal or `0x` hex, `_` allowed between digits.
pub fn parse_number(word: &str) -> Result<u64, String> {
    let (digits, radix) = match word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        Some(rest) => (rest, 16),
        None => (word, 10),
    };
    let bad = || format!("expected a number (decimal, or hex with 0x; `_` only between digits), found `{word}`");
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return Err(bad());
    }
    let mut value: u64 = 0;
    for c in digits.chars().filter(|&c| c != '_') {
        let d = c.to_digit(radix).ok_or_else(bad)?;
        value = value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or_else(|| format!("number `{word}` does not fit in 64 bits"))?;
    }
    Ok(value)
}

fn parse_size(word: &str) -> Result<u32, String> {
    match parse_number(word)? {
        n @ (1 | 2 | 4 | 8) => Ok(n as u32),
        n => Err(format!("access size must be 1, 2, 4 or 8 bytes, found {n}")),
    }
}

fn check_fits(value: u64, size: u32, what: &str) -> Result<(), String> {
    if size < 8 && value >> (size * 8) != 0 {
        return Err(format!("{what} 0x{value:x} does not fit in a {size}-byte access"));
    }
    Ok(())
}

fn hex_digit(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Parses the BYTES operand of `rx`: a quoted string with escapes, or
/// `hex:` and an even number of hex digits (either may be empty).
pub fn parse_bytes(word: &str) -> Result<Vec<u8>, String> {
    if let Some(hex) = word.strip_prefix("hex:") {
        let h = hex.as_bytes();
        if h.len() % 2 != 0 {
            return Err(format!("`hex:` needs an even number of hex digits, found `{hex}`"));
        }
        return h
            .chunks(2)
            .map(|pair| match (hex_digit(pair[0]), hex_digit(pair[1])) {
                (Some(a), Some(b)) => Ok(a << 4 | b),
                _ => Err(format!("`{}` is not a hex byte", String::from_utf8_lossy(pair))),
            })
            .collect();
    }
    let inner = word
        .strip_prefix('"')
        .and_then(|w| w.strip_suffix('"'))
        .filter(|_| word.len() >= 2)
        .ok_or_else(|| format!("expected a double-quoted string or hex:..., found `{word}`"))?;
    let mut out = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '"' {
            return Err("unescaped `\"` inside a string".into());
        }
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => out.push(b'\n'),
            Some('r') => out.push(b'\r'),
            Some('t') => out.push(b'\t'),
            Some('\\') => out.push(b'\\'),
            Some('"') => out.push(b'"'),
            Some('x') => {
                let hi = chars.next().and_then(|c| c.to_digit(16));
                let lo = chars.next().and_then(|c| c.to_digit(16));
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                    _ => return Err("`\\x` must be followed by two hex digits".into()),
                }
            }
            Some(other) => return Err(format!("unknown escape `\\{other}` (known: \\n \\r \\t \\\\ \\\" \\xHH)")),
            None => return Err("string ends with a lone `\\`".into()),
        }
    }
    // An empty string is still an `rx`: the board hands pending input to
    // the device after it, as after any `rx` (trace-format.md).
    Ok(out)
}

/// The trace commands and their usage (trace-format.md): the one list the
/// parser's error messages come from.
pub const COMMANDS: &[(&str, &str)] = &[
    ("write", "write DEV OFFSET VALUE [SIZE]"),
    ("read", "read DEV OFFSET [SIZE] [= EXPECTED]"),
    ("rx", "rx DEV BYTES"),
    ("break", "break DEV"),
    ("advance", "advance NS"),
    ("epoch", "epoch SECONDS"),
    ("reset", "reset [DEV]"),
    ("migrate", "migrate DEV [c|rust]"),
    ("config", "config DEV NAME=VALUE ..."),
    ("input", "input DEV LINE LEVEL"),
];

/// The usage of a known command, or None.
fn usage(command: &str) -> Option<&'static str> {
    COMMANDS.iter().find(|(name, _)| *name == command).map(|(_, usage)| *usage)
}

fn usage_error(command: &str) -> String {
    format!("expected `{}`", usage(command).unwrap_or(command))
}

/// `unknown command` with the known ones listed.
fn unknown_command(name: &str) -> String {
    let names: Vec<&str> = COMMANDS.iter().map(|(n, _)| *n).collect();
    let (last, rest) = names.split_last().unwrap_or((&"", &[]));
    format!("unknown command `{name}` (expected {} or {last})", rest.join(", "))
}

/// Parses one line. `Ok(None)` for blank and comment-only lines.
pub fn parse_line(line: &str) -> Result<Option<Command>, String> {
    let w = words(line)?;
    let Some((&name, args)) = w.split_first() else { return Ok(None) };
    let dev = |i: usize| args[i].to_string();
    let command = match (name, args.len()) {
        ("write", 3 | 4) => {
            let size = if args.len() == 4 { parse_size(args[3])? } else { 4 };
            let value = parse_number(args[2])?;
            check_fits(value, size, "value")?;
            Command::Write { dev: dev(0), offset: parse_number(args[1])?, value, size }
        }
        ("read", 2..=5) => {
            let offset = parse_number(args[1])?;
            let (size, rest) = match args.get(2) {
                Some(&"=") | None => (4, &args[2..]),
                Some(s) => (parse_size(s)?, &args[3..]),
            };
            let expected = match rest {
                [] => None,
                ["=", value] => {
                    let v = parse_number(value)?;
                    check_fits(v, size, "expected value")?;
                    Some(v)
                }
                _ => return Err(usage_error("read")),
            };
            Command::Read { dev: dev(0), offset, size, expected }
        }
        ("rx", 2) => Command::Rx { dev: dev(0), bytes: parse_bytes(args[1])? },
        ("break", 1) => Command::Break { dev: dev(0) },
        ("advance", 1) => Command::Advance { ns: parse_number(args[0])? },
        ("epoch", 1) => Command::Epoch { seconds: parse_number(args[0])? },
        ("reset", 0) => Command::Reset { dev: None },
        ("reset", 1) => Command::Reset { dev: Some(dev(0)) },
        ("migrate", 1) => Command::Migrate { dev: dev(0), to: None },
        ("migrate", 2) => Command::Migrate { dev: dev(0), to: Some(args[1].parse()?) },
        ("config", 2..) => {
            let properties = args[1..]
                .iter()
                .map(|word| match word.split_once('=') {
                    Some((name, value)) if !name.is_empty() => Ok((name.to_string(), parse_number(value)?)),
                    _ => Err(format!("expected `NAME=VALUE`, found `{word}`")),
                })
                .collect::<Result<Vec<_>, String>>()?;
            Command::Config { dev: dev(0), properties }
        }
        ("input", 3) => {
            let line =
                u32::try_from(parse_number(args[1])?).map_err(|_| format!("input line `{}` is too large", args[1]))?;
            let level = match parse_number(args[2])? {
                0 => false,
                1 => true,
                _ => return Err(format!("input level must be 0 or 1, found `{}`", args[2])),
            };
            Command::Input { dev: dev(0), line, level }
        }
        _ if usage(name).is_some() => return Err(usage_error(name)),
        _ => return Err(unknown_command(name)),
    };
    if let Some(d) = command.device() {
        if d.starts_with('"') || d.starts_with("hex:") || d == "=" {
            return Err(format!("expected a device name, found `{d}`"));
        }
    }
    Ok(Some(command))
}

/// Reads a trace line by line, yielding each command with its line number.
#[derive(Debug)]
pub struct TraceReader<R> {
    reader: R,
    line: u64,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> TraceReader<R> {
    /// A reader over `reader`.
    pub fn new(reader: R) -> Self {
        TraceReader { reader, line: 0, buf: Vec::new(), done: false }
    }

    fn fail(&mut self, message: String) -> Option<Result<TraceLine, ParseError>> {
        self.done = true;
        Some(Err(ParseError { line: self.line, message }))
    }
}

impl<R: BufRead> Iterator for TraceReader<R> {
    type Item = Result<TraceLine, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::io::Read;
        while !self.done {
            self.buf.clear();
            self.line += 1;
            let limit = MAX_LINE_BYTES as u64 + 1;
            let read = (&mut self.reader).take(limit).read_until(b'\n', &mut self.buf);
            match read {
                Err(e) => return self.fail(format!("cannot read the trace: {e}")),
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {}
            }
            if self.buf.last() == Some(&b'\n') {
                self.buf.pop();
            } else if self.buf.len() > MAX_LINE_BYTES {
                return self.fail(format!("line is longer than {MAX_LINE_BYTES} bytes"));
            }
            let Ok(text) = std::str::from_utf8(&self.buf) else {
                return self.fail("line is not valid UTF-8".into());
            };
            match parse_line(text) {
                Ok(None) => continue,
                Ok(Some(command)) => return Some(Ok(TraceLine { number: self.line, command })),
                Err(message) => return self.fail(message),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Command {
        parse_line(line).unwrap().unwrap()
    }

    fn err(line: &str) -> String {
        parse_line(line).unwrap_err()
    }

    #[test]
    fn every_command() {
        assert_eq!(
            parse("write pl011 0x02c 0x70"),
            Command::Write { dev: "pl011".into(), offset: 0x2c, value: 0x70, size: 4 }
        );
        assert_eq!(
            parse("write pl011 0x001 0x41 1"),
            Command::Write { dev: "pl011".into(), offset: 1, value: 0x41, size: 1 }
        );
        assert_eq!(
            parse("read pl011 0x018 = 0x80"),
            Command::Read { dev: "pl011".into(), offset: 0x18, size: 4, expected: Some(0x80) }
        );
        assert_eq!(
            parse("read pl011 0x000 8"),
            Command::Read { dev: "pl011".into(), offset: 0, size: 8, expected: None }
        );
        assert_eq!(
            parse("read pl011 0x019 1 = 0x97"),
            Command::Read { dev: "pl011".into(), offset: 0x19, size: 1, expected: Some(0x97) }
        );
        assert_eq!(
            parse("rx pl011 \"a b#c\" # comment"),
            Command::Rx { dev: "pl011".into(), bytes: b"a b#c".to_vec() }
        );
        assert_eq!(parse("rx pl011 hex:0d0A"), Command::Rx { dev: "pl011".into(), bytes: vec![0x0d, 0x0a] });
        assert_eq!(
            parse(r#"rx pl011 "\n\r\t\\\"\x7f""#),
            Command::Rx { dev: "pl011".into(), bytes: vec![b'\n', b'\r', b'\t', b'\\', b'"', 0x7f] }
        );
        assert_eq!(parse("break pl011"), Command::Break { dev: "pl011".into() });
        assert_eq!(parse("advance 1_000_000_000"), Command::Advance { ns: 1_000_000_000 });
        assert_eq!(parse("epoch 0x6553_F100"), Command::Epoch { seconds: 0x6553_F100 });
        assert_eq!(parse("reset"), Command::Reset { dev: None });
        assert_eq!(parse("reset pl011"), Command::Reset { dev: Some("pl011".into()) });
        assert_eq!(parse("migrate pl011"), Command::Migrate { dev: "pl011".into(), to: None });
        assert_eq!(
            parse("\t migrate   pl011\trust  "),
            Command::Migrate { dev: "pl011".into(), to: Some(Implementation::Rust) }
        );
        assert_eq!(parse_line("   # only a comment").unwrap(), None);
        assert_eq!(parse_line("").unwrap(), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("42").unwrap(), 42);
        assert_eq!(parse_number("0X2A").unwrap(), 42);
        assert_eq!(parse_number("0x0900_0000").unwrap(), 0x0900_0000);
        assert_eq!(parse_number("0xffffffffffffffff").unwrap(), u64::MAX);
        assert!(parse_number("18446744073709551616").unwrap_err().contains("64 bits"));
        assert!(parse_number("0x1_0000_0000_0000_0000").unwrap_err().contains("64 bits"));
        for bad in ["", "0x", "_1", "1_", "1__0", "0x_1", "12a", "-1", "0b1"] {
            assert!(parse_number(bad).is_err(), "{bad}");
        }
    }

    /// Zero bytes is a string and an even number of hex digits: an `rx`
    /// that adds nothing, after which the board still hands pending input
    /// to the device. It prints as `hex:` and parses back.
    #[test]
    fn an_empty_rx_is_an_rx() {
        let empty = Command::Rx { dev: "pl011".into(), bytes: Vec::new() };
        assert_eq!(parse("rx pl011 \"\""), empty);
        assert_eq!(parse("rx pl011 hex:"), empty);
        assert_eq!(empty.to_string(), "rx pl011 hex:");
    }

    #[test]
    fn errors_say_what_was_expected() {
        assert!(err("write pl011 0x0").contains("write DEV OFFSET VALUE [SIZE]"));
        assert!(err("write pl011 0x0 0x100 1").contains("does not fit in a 1-byte access"));
        assert!(err("write pl011 0x0 0x1 3").contains("1, 2, 4 or 8"));
        assert!(err("read pl011 0x0 = ").contains("read DEV OFFSET"));
        assert!(err("read pl011 0x0 2 = 0x10000").contains("does not fit"));
        assert!(err("read pl011 0x0 4 0x5").contains("read DEV OFFSET"));
        assert!(err("rx pl011 \"abc").contains("unterminated"));
        assert!(err("rx pl011 hex:abc").contains("even"));
        assert!(err("rx pl011 hex:zz").contains("not a hex byte"));
        assert!(err("rx pl011 \"\\q\"").contains("unknown escape"));
        assert!(err("rx pl011 abc").contains("double-quoted"));
        assert!(err("jump pl011").contains("unknown command `jump`"));
        assert!(
            err("jump").ends_with("(expected write, read, rx, break, advance, epoch, reset, migrate, config or input)")
        );
        assert!(err("migrate pl011 go").contains("unknown implementation"));
        assert!(err("advance").contains("advance NS"));
        assert!(err("reset a b").contains("reset [DEV]"));
        assert!(err("break \"x\"").contains("device name"));
    }

    #[test]
    fn reader_numbers_lines_and_stops_at_the_first_error() {
        let text = "# header\n\nwrite pl011 0x0 0x41\nread pl011 0x18\nbogus\nread pl011 0x0\n";
        let items: Vec<_> = TraceReader::new(text.as_bytes()).collect();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].as_ref().unwrap().number, 3);
        assert_eq!(items[1].as_ref().unwrap().number, 4);
        let e = items[2].as_ref().unwrap_err();
        assert_eq!(e.line, 5);
        assert!(e.message.contains("unknown command"));
    }

    #[test]
    fn reader_handles_crlf_missing_final_newline_and_bad_utf8() {
        let items: Vec<_> = TraceReader::new("reset\r\nadvance 5".as_bytes()).collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].as_ref().unwrap().command, Command::Advance { ns: 5 });
        let bad: &[u8] = b"reset\n\xff\xfe\n";
        let items: Vec<_> = TraceReader::new(bad).collect();
        assert_eq!(items[1].as_ref().unwrap_err().line, 2);
    }

    #[test]
    fn display_round_trips() {
        for line in [
            "write pl011 0x02c 0x70",
            "write pl011 0x001 0x41 1",
            "read pl011 0x018 = 0x80",
            "read pl011 0x000 8",
            "rx pl011 hex:610a",
            "break pl011",
            "advance 5",
            "epoch 7",
            "reset",
            "reset pl011",
            "migrate pl011 c",
            "migrate pl011",
        ] {
            let c = parse(line);
            assert_eq!(c.to_string(), line);
            assert_eq!(parse(&c.to_string()), c);
        }
    }

    #[test]
    fn the_command_list_names_every_command_and_its_usage() {
        // One line of each command, as the format's examples write them.
        let examples = [
            "write u 0x0 0x41",
            "read u 0x18 4 = 0x90",
            "rx u \"a\"",
            "break u",
            "advance 10",
            "epoch 1",
            "reset u",
            "migrate u rust",
            "config u fifo=1",
            "input u 0 1",
        ];
        assert_eq!(examples.len(), COMMANDS.len());
        for ((name, usage_text), example) in COMMANDS.iter().zip(examples) {
            assert!(usage_text.starts_with(&format!("{name} ")), "{usage_text}");
            let command = parse_line(example).unwrap().unwrap();
            assert_eq!(command.to_string().split_whitespace().next(), Some(*name), "{example}");
        }
        assert_eq!(err("advance"), "expected `advance NS`");
    }
}
