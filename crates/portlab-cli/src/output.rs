//! Standard output that keeps the exit-status promise when it goes away.
//!
//! `println!` panics when stdout is a pipe whose reader has gone
//! (`portlab compare ... | head -1`): exit status 101 and a panic message
//! for something the user did on purpose. `outln!` and `out!` write the
//! same text, and on a closed pipe end the
//! process quietly with status 0, as `head` asked for no more; any other
//! write error is reported and ends it with status 2.

use std::fmt;
use std::io::{self, Write};

/// The folder an output file `path` would go into, if it does not exist:
/// commands check their output paths before their work, not after.
pub(crate) fn missing_folder(path: &std::path::Path) -> Option<&std::path::Path> {
    path.parent().filter(|dir| !dir.as_os_str().is_empty() && !dir.is_dir())
}

/// Writes `args` (and a newline if `newline`) to stdout.
pub(crate) fn write(args: fmt::Arguments<'_>, newline: bool) {
    let mut stdout = io::stdout().lock();
    let result = stdout.write_fmt(args).and_then(|()| if newline { stdout.write_all(b"\n") } else { Ok(()) });
    if let Err(e) = result {
        gone(&e);
    }
}

/// Ends the process after a failed write to stdout: quietly with status 0
/// for a closed pipe, with a message and status 2 otherwise.
pub(crate) fn gone(e: &io::Error) -> ! {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("portlab: cannot write to standard output: {e}");
    std::process::exit(2);
}

/// `println!` that survives a closed pipe (see the module docs).
macro_rules! outln {
    () => {
        $crate::output::write(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::output::write(format_args!($($arg)*), true)
    };
}

/// `print!` that survives a closed pipe (see the module docs).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!($($arg)*), false)
    };
}

#[cfg(feature = "c-compare")]
/// A flag that Ctrl-C (SIGINT) sets, for the long commands (`fuzz`,
/// `bench`) to stop at the next safe point and report what they have. A
/// second Ctrl-C while the first is pending ends the process at once with
/// status 130, as a shell would.
pub(crate) fn interrupt_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = Arc::clone(&flag);
    let installed = ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::Relaxed) {
            std::process::exit(130);
        }
        eprintln!("\nportlab: interrupted; finishing the current step (Ctrl-C again to quit at once)");
    });
    if let Err(e) = installed {
        // Without the handler Ctrl-C still ends the run, as for any
        // program; only the partial report is lost.
        eprintln!("portlab: cannot handle Ctrl-C ({e}); it will end the run without a report");
    }
    flag
}
