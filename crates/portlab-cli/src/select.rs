//! What every subcommand shares: choosing implementations (`--impl`,
//! `--device NAME=IMPL`), turning that into a board layout, opening a
//! trace, and counting in words.

use std::fs::File;
use std::io::{self, BufRead, BufReader};

use clap::Args;
use portlab_board::{BoardConfig, Implementation, Registry, Stage};

/// Which implementation each device of the board runs.
#[derive(Debug, Args)]
pub(crate) struct ImplArgs {
    /// Implementation of every device: `c`, `rust` or `shadow` (default:
    /// this build's roadmap stage decides; `portlab list` says which).
    #[arg(long = "impl", value_name = "IMPL", default_value_t = Stage::CURRENT.default_implementation(), value_parser = parse_impl)]
    pub(crate) implementation: Implementation,
    /// Implementation of one device instance, as NAME=IMPL (for example
    /// `pl011=rust`); repeatable, overrides --impl.
    #[arg(long = "device", value_name = "NAME=IMPL", value_parser = parse_device_choice)]
    pub(crate) devices: Vec<(String, Implementation)>,
}

pub(crate) fn parse_impl(s: &str) -> Result<Implementation, String> {
    s.parse()
}

/// Parses `NAME=IMPL`, where IMPL is `c`, `rust`, `shadow` or a type name
/// as `portlab list` shows it (`pl011=x-pl011-rust`, or `pl011=pl011`: the
/// C model carries the device's own name, as in QEMU), or a type name
/// alone (`x-pl011-rust`: the device `pl011` in Rust; `pl011`: in C).
/// Whether the device exists is checked against the registry later
/// ([`board_config`]).
pub(crate) fn parse_device_choice(s: &str) -> Result<(String, Implementation), String> {
    let Some((name, imp)) = s.split_once('=') else {
        if let Some((name, imp)) = implementation_of_type_name(s) {
            return Ok((name.to_string(), imp));
        }
        if s.is_empty() || s.starts_with("x-") || s.contains(char::is_whitespace) {
            return Err(format!(
                "expected NAME=IMPL (for example pl011=rust) or a type name (x-pl011-rust, pl011), found `{s}`"
            ));
        }
        return Ok((s.to_string(), Implementation::C));
    };
    if name.is_empty() {
        return Err(format!("expected NAME=IMPL, found `{s}`"));
    }
    let imp = match implementation_of_type_name(imp) {
        Some((of, imp)) if of == name => imp,
        Some((of, _)) => return Err(format!("`{imp}` is an implementation of {of}, not of {name}")),
        None if imp == name => Implementation::C,
        None => imp.parse()?,
    };
    Ok((name.to_string(), imp))
}

/// The device and implementation of an `x-NAME-IMPL` type name.
fn implementation_of_type_name(s: &str) -> Option<(&str, Implementation)> {
    let (name, imp) = s.strip_prefix("x-")?.rsplit_once('-')?;
    if name.is_empty() {
        return None;
    }
    Some((name, imp.parse().ok()?))
}

/// Builds the board layout the user asked for and checks that every
/// chosen implementation exists, so a missing one is a usage error before
/// any trace runs.
pub(crate) fn board_config(registry: &Registry, impls: &ImplArgs) -> Result<BoardConfig, String> {
    let mut config = BoardConfig::default_board(impls.implementation);
    // `--impl shadow` shadows every device that has a shadow; the others
    // run as the stage's default, and the user is told which.
    if impls.implementation == Implementation::Shadow {
        let fallback = Stage::CURRENT.default_implementation();
        for slot in &mut config.slots {
            if registry.device_type(&slot.kind, Implementation::Shadow).is_err() {
                slot.implementation = fallback;
                eprintln!("portlab: {} has no shadow device; it runs as {fallback}", slot.name);
            }
        }
    }
    for (name, imp) in &impls.devices {
        config.set_implementation(name, *imp)?;
    }
    for slot in &config.slots {
        registry.device_type(&slot.kind, slot.implementation).map_err(|e| format!("{}: {e}", slot.name))?;
    }
    Ok(config)
}

pub(crate) fn open_trace(path: &str) -> io::Result<Box<dyn BufRead>> {
    if path == "-" {
        Ok(Box::new(BufReader::new(io::stdin())))
    } else if std::path::Path::new(path).is_dir() {
        // Opening a folder succeeds on Unix and fails at the first read,
        // which would be reported as a bad line 1.
        Err(io::Error::other("it is a folder, not a trace file"))
    } else {
        Ok(Box::new(BufReader::with_capacity(64 * 1024, File::open(path)?)))
    }
}

/// `word`, or `words` for a count other than one.
pub(crate) fn plural(count: u64, word: &str) -> String {
    if count == 1 { word.to_string() } else { format!("{word}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_choices_take_implementations_and_type_names() {
        let rust = Ok(("pl011".to_string(), Implementation::Rust));
        assert_eq!(parse_device_choice("pl011=rust"), rust);
        assert_eq!(parse_device_choice("pl011=x-pl011-rust"), rust);
        assert_eq!(parse_device_choice("x-pl011-rust"), rust);
        assert_eq!(parse_device_choice("x-my-dev-shadow"), Ok(("my-dev".to_string(), Implementation::Shadow)));
        // The C model's type name is the device's own.
        let c = Ok(("pl011".to_string(), Implementation::C));
        assert_eq!(parse_device_choice("pl011=pl011"), c);
        assert_eq!(parse_device_choice("pl011"), c);
        assert!(parse_device_choice("pl011=pl031").unwrap_err().contains("pl031"));
        assert!(parse_device_choice("pl031=x-pl011-rust").unwrap_err().contains("not of pl031"));
        for bad in ["", "=rust", "pl011=go", "x--rust", "x-pl011-go"] {
            assert!(parse_device_choice(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts_are_spelled_out() {
        assert_eq!(plural(1, "event"), "event");
        assert_eq!(plural(0, "event"), "events");
        assert_eq!(plural(2, "command"), "commands");
    }
}
