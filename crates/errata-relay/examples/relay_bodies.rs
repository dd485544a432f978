//! Writes the load generator's envelopes to files, for a load generator in another process
//! (`scripts/bench-relay.sh` drives `errata relay` with wrk): `typical-N.br`/`typical-N.gz`
//! (the Django exception event of `relay_load`, ~13 KB, alternately br and gzip) and
//! `large-N.gz` (~56 KB), 64 of each with distinct event ids, and `typical.list` and
//! `large.list` naming them.
//!
//! ```text
//! cargo run --release -p errata-relay --example relay_bodies -- DIR
//! ```

#[path = "support/events.rs"]
mod events;

use std::path::Path;

fn write(dir: &Path, kind: &str, bodies: &[(&'static str, Vec<u8>)]) -> std::io::Result<()> {
    let mut list = String::new();
    for (i, (encoding, body)) in bodies.iter().enumerate() {
        let name = format!("{kind}-{i}.{}", if *encoding == "br" { "br" } else { "gz" });
        std::fs::write(dir.join(&name), body)?;
        list.push_str(&name);
        list.push('\n');
    }
    std::fs::write(dir.join(format!("{kind}.list")), list)
}

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: relay_bodies DIR (where to write the envelopes)");
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir)?;
    write(dir, "typical", &events::bodies(64, events::typical, true))?;
    write(dir, "large", &events::bodies(64, events::large, false))?;
    println!(
        "typical envelope {} bytes, large {} bytes, written to {}",
        events::envelope(&events::typical(0)).len(),
        events::envelope(&events::large(0)).len(),
        dir.display()
    );
    Ok(())
}
