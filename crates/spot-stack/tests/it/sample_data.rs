//! The shipped sample day (`data/demand-day.csv`, `data/spot-price-day.csv`)
//! is generated here, deterministically. The test fails if the committed
//! files drift from the generator; regenerate with
//! `SPOT_STACK_REGENERATE=1 cargo test -p spot-stack --test it sample_data`.

use std::fmt::Write;
use std::path::PathBuf;

/// xorshift64*: tiny, deterministic, good enough for noise.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn bump(h: f64, center: f64, width: f64) -> f64 {
    (-((h - center) / width).powi(2)).exp()
}

/// A day of CPU demand (instance-equivalents at 100% CPU): a quiet night,
/// a morning ramp, a working-day plateau and an evening peak, with noise.
/// Peaks near 5 instance-equivalents: 10-12 instances at the spot group's
/// 30-50% CPU band, the size of the write-up's tier.
fn demand() -> String {
    let mut rng = Rng(0x005e_ed0f_5907);
    let mut out = String::from("minute,demand\n");
    let mut noise = 0.0;
    for m in 0..1440u32 {
        let h = f64::from(m) / 60.0;
        let base = 0.9
            + 2.2 * bump(h, 11.0, 3.5)
            + 1.4 * bump(h, 15.5, 2.5)
            + 3.3 * bump(h, 20.0, 1.8)
            + 0.6 * bump(h, 24.5, 2.0);
        // Smoothed noise (AR(1)), about ±6%.
        noise = 0.9 * noise + 0.1 * (rng.next() - 0.5) * 1.2;
        let d = (base * (1.0 + noise)).max(0.2);
        writeln!(out, "{m},{d:.3}").unwrap();
    }
    out
}

/// A day of c5.large spot prices (USD/hour, on-demand 0.085): around 0.034,
/// drifting a little every hour or two, and one spike above the on-demand
/// price from 13:10 to 14:40 that reclaims every spot instance.
fn spot_prices() -> String {
    let mut rng = Rng(0x00dd_ba11);
    let mut out = String::from("minute,price\n");
    let mut m = 0u32;
    let mut price: f64 = 0.034;
    while m < 1440 {
        if (790..880).contains(&m) {
            writeln!(out, "790,0.0940").unwrap();
            writeln!(out, "820,0.1020").unwrap();
            writeln!(out, "850,0.0910").unwrap();
            m = 880;
            price = 0.041;
            continue;
        }
        writeln!(out, "{m},{price:.4}").unwrap();
        let step = 60 + (rng.next() * 90.0) as u32;
        let next = if m < 790 && m + step > 790 {
            790
        } else {
            m + step
        };
        price = (price + (rng.next() - 0.5) * 0.004).clamp(0.030, 0.040);
        m = next;
    }
    out
}

fn check(name: &str, content: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name);
    if std::env::var_os("SPOT_STACK_REGENERATE").is_some() {
        std::fs::write(&path, content).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    assert!(
        committed == content,
        "{} differs from its generator: run SPOT_STACK_REGENERATE=1 cargo test -p spot-stack --test it sample_data",
        path.display()
    );
}

#[test]
fn shipped_demand_day_matches_generator() {
    check("demand-day.csv", &demand());
}

#[test]
fn shipped_spot_price_day_matches_generator() {
    check("spot-price-day.csv", &spot_prices());
}
