//! The trace parser on arbitrary bytes: it may reject a line, never panic,
//! and every command it accepts must print back to a line that parses to
//! the same command.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portlab_board::{TraceReader, parse_line};

fuzz_target!(|data: &[u8]| {
    for item in TraceReader::new(data) {
        match item {
            Ok(line) => {
                let printed = line.command.to_string();
                assert_eq!(parse_line(&printed).ok().flatten().as_ref(), Some(&line.command), "{printed}");
            }
            Err(_) => break,
        }
    }
});
