//! Byte sizes: the original script's `14.49G` display and `100M`-style input.

/// 1024-based with two decimals and a G/M/K/b suffix, like the original
/// script: `14.49G`, `5.18M`, `1.00K`, `512.00b`.
pub fn convert_bytes(bytes: u64) -> String {
    Bytes(bytes).to_string()
}

/// [`convert_bytes`] as a `Display`, to write it without a `String`.
#[derive(Clone, Copy, Debug)]
pub struct Bytes(pub u64);

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const K: f64 = 1024.0;
        let b = self.0 as f64;
        if b >= K * K * K {
            write!(f, "{:.2}G", b / (K * K * K))
        } else if b >= K * K {
            write!(f, "{:.2}M", b / (K * K))
        } else if b >= K {
            write!(f, "{:.2}K", b / K)
        } else {
            write!(f, "{b:.2}b")
        }
    }
}

/// Parses a byte count: a plain integer (`100000000`) or a number with a
/// 1024-based suffix `K`, `M`, `G`, `T` (optionally followed by `B`/`iB`),
/// matching how sizes are printed: `100M` = 104857600, `1.5G`.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let stripped = lower
        .strip_suffix("ib")
        .or_else(|| lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let (num, mult) = match stripped.chars().last() {
        Some('k') => (&stripped[..stripped.len() - 1], 1u64 << 10),
        Some('m') => (&stripped[..stripped.len() - 1], 1u64 << 20),
        Some('g') => (&stripped[..stripped.len() - 1], 1u64 << 30),
        Some('t') => (&stripped[..stripped.len() - 1], 1u64 << 40),
        _ => (stripped, 1),
    };
    let num = num.trim();
    let bad = || format!("invalid byte count {t:?} (use e.g. 100000000, 512K, 100M, 1.5G)");
    if let Ok(n) = num.parse::<u64>() {
        return n.checked_mul(mult).ok_or_else(bad);
    }
    match num.parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 && f * (mult as f64) < u64::MAX as f64 => {
            Ok((f * mult as f64).round() as u64)
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_the_original() {
        assert_eq!(convert_bytes(15_563_390_976), "14.49G");
        assert_eq!(convert_bytes(13_258_934_528), "12.35G");
        assert_eq!(convert_bytes(5_563_128_832), "5.18G");
        assert_eq!(convert_bytes(12_300_000_000), "11.46G");
        assert_eq!(convert_bytes(1_048_576), "1.00M");
        assert_eq!(convert_bytes(8192), "8.00K");
        assert_eq!(convert_bytes(0), "0.00b");
        assert_eq!(convert_bytes(1023), "1023.00b");
        assert_eq!(convert_bytes(u64::MAX), "17179869184.00G");
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_bytes("100000000"), Ok(100_000_000));
        assert_eq!(parse_bytes("100M"), Ok(100 << 20));
        assert_eq!(parse_bytes("100MB"), Ok(100 << 20));
        assert_eq!(parse_bytes("1.5G"), Ok(3 << 29));
        assert_eq!(parse_bytes("8k"), Ok(8192));
        assert_eq!(parse_bytes("0"), Ok(0));
        assert!(parse_bytes("-1").is_err());
        assert!(parse_bytes("abc").is_err());
        assert!(parse_bytes("99999999999999T").is_err());
    }
}
