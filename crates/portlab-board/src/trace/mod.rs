//! Traces: the parser and the runner.

pub mod parse;
pub mod run;
