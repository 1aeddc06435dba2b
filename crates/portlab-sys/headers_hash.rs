// The fingerprint of the C interface headers that the committed bindings
// were generated from. Shared, by `#[path]`, between this crate's build
// script (which refuses to build when the headers have drifted) and the
// xtask that regenerates the bindings (which records it in the preamble),
// so the two always compute the same value.

use std::path::{Path, PathBuf};

/// The marker in the generated file's preamble that precedes the hash.
pub(crate) const HASH_MARKER: &str = "// portlab-headers-hash: ";

/// Every `.h` file under `include_dir`, sorted by file name.
pub(crate) fn header_files(include_dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(include_dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "h") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// FNV-1a (64 bit) over each header's file name and contents, in sorted
/// order. A change detector, not a cryptographic digest: it only has to
/// notice that someone edited a header and forgot to regenerate.
pub(crate) fn headers_hash(include_dir: &Path) -> std::io::Result<String> {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut hash = OFFSET_BASIS;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    for path in header_files(include_dir)? {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        feed(name.as_bytes());
        feed(&[0]);
        // Normalise line endings so a Windows checkout hashes the same.
        let text = std::fs::read(&path)?;
        let text: Vec<u8> = text.into_iter().filter(|&b| b != b'\r').collect();
        feed(&text);
        feed(&[0]);
    }
    Ok(format!("fnv1a64:{hash:016x}"))
}

/// The hash recorded in a generated bindings file, if any.
pub(crate) fn recorded_hash(bindings: &str) -> Option<&str> {
    bindings.lines().take(20).find_map(|line| line.strip_prefix(HASH_MARKER)).map(str::trim)
}
