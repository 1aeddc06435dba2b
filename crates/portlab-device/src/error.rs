//! Status codes of the C interface as Rust types.

use portlab_sys as sys;

/// Why loading a migration blob failed, in the order the loader checks
/// (the device specs' "Project migration format"). On any of these the
/// device is left exactly as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoadError {
    /// The blob is shorter than its header, or than its header says.
    Truncated,
    /// The blob does not start with `DEVS`.
    BadMagic,
    /// The blob was saved by another kind of device.
    WrongDevice,
    /// Format version 0.
    BadVersion,
    /// A version newer than this implementation knows.
    FutureVersion,
    /// The payload length is not the one defined for the version, or the
    /// blob is longer than header, payload and CRC.
    BadLength,
    /// The CRC-32 does not match.
    BadCrc,
    /// A field holds a value the device's state cannot have.
    OutOfRange,
}

impl LoadError {
    /// Every load error, in check order.
    pub const ALL: [LoadError; 8] = [
        LoadError::Truncated,
        LoadError::BadMagic,
        LoadError::WrongDevice,
        LoadError::BadVersion,
        LoadError::FutureVersion,
        LoadError::BadLength,
        LoadError::BadCrc,
        LoadError::OutOfRange,
    ];

    /// The spec's name for the error (`truncated`, `bad-magic`, ...).
    pub fn name(self) -> &'static str {
        match self {
            LoadError::Truncated => "truncated",
            LoadError::BadMagic => "bad-magic",
            LoadError::WrongDevice => "wrong-device",
            LoadError::BadVersion => "bad-version",
            LoadError::FutureVersion => "future-version",
            LoadError::BadLength => "bad-length",
            LoadError::BadCrc => "bad-crc",
            LoadError::OutOfRange => "out-of-range",
        }
    }

    /// The `PORTLAB_ERR_*` code of the C interface.
    pub fn code(self) -> i32 {
        match self {
            LoadError::Truncated => sys::PORTLAB_ERR_TRUNCATED,
            LoadError::BadMagic => sys::PORTLAB_ERR_BAD_MAGIC,
            LoadError::WrongDevice => sys::PORTLAB_ERR_WRONG_DEVICE,
            LoadError::BadVersion => sys::PORTLAB_ERR_BAD_VERSION,
            LoadError::FutureVersion => sys::PORTLAB_ERR_FUTURE_VERSION,
            LoadError::BadLength => sys::PORTLAB_ERR_BAD_LENGTH,
            LoadError::BadCrc => sys::PORTLAB_ERR_BAD_CRC,
            LoadError::OutOfRange => sys::PORTLAB_ERR_OUT_OF_RANGE,
        }
    }
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::error::Error for LoadError {}

/// A failed operation of the C interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// `PORTLAB_ERR_INVALID`: a bad argument (offset, size, timer, NULL).
    Invalid,
    /// `PORTLAB_ERR_NO_MEMORY`.
    NoMemory,
    /// `PORTLAB_ERR_BUFFER_TOO_SMALL`.
    BufferTooSmall,
    /// `PORTLAB_ERR_POISONED`: the instance failed (a Rust device panicked)
    /// and refuses further use.
    Poisoned,
    /// A migration load error.
    Load(LoadError),
    /// A code this version of the interface does not define.
    Unknown(i32),
}

impl Error {
    /// Maps a `PortlabStatus` to `Ok(())` or the error it names.
    pub fn check(status: sys::PortlabStatus) -> Result<(), Error> {
        if status == 0 {
            return Ok(());
        }
        Err(match status {
            sys::PORTLAB_ERR_INVALID => Error::Invalid,
            sys::PORTLAB_ERR_NO_MEMORY => Error::NoMemory,
            sys::PORTLAB_ERR_BUFFER_TOO_SMALL => Error::BufferTooSmall,
            sys::PORTLAB_ERR_POISONED => Error::Poisoned,
            code => LoadError::ALL.into_iter().find(|e| e.code() == code).map_or(Error::Unknown(code), Error::Load),
        })
    }

    /// The `PortlabStatus` code for this error.
    pub fn code(self) -> sys::PortlabStatus {
        match self {
            Error::Invalid => sys::PORTLAB_ERR_INVALID,
            Error::NoMemory => sys::PORTLAB_ERR_NO_MEMORY,
            Error::BufferTooSmall => sys::PORTLAB_ERR_BUFFER_TOO_SMALL,
            Error::Poisoned => sys::PORTLAB_ERR_POISONED,
            Error::Load(e) => e.code(),
            Error::Unknown(code) => code,
        }
    }
}

impl From<LoadError> for Error {
    fn from(e: LoadError) -> Self {
        Error::Load(e)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Invalid => f.write_str("invalid argument"),
            Error::NoMemory => f.write_str("out of memory"),
            Error::BufferTooSmall => f.write_str("buffer too small"),
            Error::Poisoned => f.write_str("device instance failed earlier and refuses further use"),
            Error::Load(e) => write!(f, "migration load failed: {e}"),
            Error::Unknown(code) => write!(f, "unknown status code {code}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for e in [Error::Invalid, Error::NoMemory, Error::BufferTooSmall, Error::Poisoned]
            .into_iter()
            .chain(LoadError::ALL.map(Error::Load))
        {
            assert_eq!(Error::check(e.code()), Err(e));
        }
        assert_eq!(Error::check(0), Ok(()));
        assert_eq!(Error::check(-99), Err(Error::Unknown(-99)));
    }
}
