//! The one error of a stream: where (byte offset, and the section when
//! inside one) and what.

use std::fmt;

/// A malformed, hostile or unsupported stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamError {
    /// Byte offset in the stream where the problem is.
    pub offset: usize,
    /// The section being read (`pl011`, `ram`), when inside one.
    pub section: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl StreamError {
    pub(crate) fn at(offset: usize, message: impl Into<String>) -> StreamError {
        StreamError { offset, section: None, message: message.into() }
    }

    pub(crate) fn in_section(mut self, section: &str) -> StreamError {
        if self.section.is_none() {
            self.section = Some(section.to_string());
        }
        self
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.section {
            Some(s) => write!(f, "byte {} (section `{s}`): {}", self.offset, self.message),
            None => write!(f, "byte {}: {}", self.offset, self.message),
        }
    }
}

impl std::error::Error for StreamError {}
