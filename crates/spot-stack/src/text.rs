//! How numbers read in messages, tables and templates.

/// Numbers without trailing zeros: 80, 0.5, 12.25.
pub fn fmt_num(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Prices as AWS writes them ("0.12", never "1e-1").
pub fn price_str(p: f64) -> String {
    let text = format!("{p:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Whole minutes as hours and minutes: "24 h", "2 h 5 min".
pub fn duration(minutes: u32) -> String {
    if minutes.is_multiple_of(60) {
        format!("{} h", minutes / 60)
    } else {
        format!("{} h {} min", minutes / 60, minutes % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_plainly() {
        assert_eq!(fmt_num(80.0), "80");
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(price_str(0.12), "0.12");
        assert_eq!(price_str(1.0), "1");
        assert_eq!(price_str(0.0085), "0.0085");
        assert_eq!(duration(1440), "24 h");
        assert_eq!(duration(125), "2 h 5 min");
    }
}
