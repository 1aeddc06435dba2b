//! Prints the HPET guest plug-in's chunk for a seed (a debugging aid).
fn main() {
    let seed: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    for step in portlab_hpet::guest::default_chunk(seed) {
        println!("{}", step.line("hpet"));
    }
}
