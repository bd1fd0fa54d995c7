//! `cargo xtask`: the project's own automation (tests, CI, benchmarks, demo).
fn main() -> anyhow::Result<()> {
    Ok(())
}
