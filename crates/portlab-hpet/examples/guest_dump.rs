//! Prints the HPET guest plug-in's chunk for a seed (a debugging aid).
fn main() {
    let seed: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    for line in portlab_hpet::guest::default_chunk("hpet", seed) {
        println!("{line}");
    }
}
