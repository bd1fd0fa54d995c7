//! Nagios threshold ranges (`--warning`, `--critical`), as in the plugin
//! development guidelines, with size suffixes for big numbers.
//!
//! | range     | alert when the value is        |
//! |-----------|--------------------------------|
//! | `10`      | < 0 or > 10                    |
//! | `10:`     | < 10                           |
//! | `~:10`    | > 10 (no lower bound)          |
//! | `10:20`   | < 10 or > 20                   |
//! | `@10:20`  | >= 10 and <= 20 (inside)       |
//!
//! Numbers take an optional suffix: `k M G T P` (powers of 1000) or
//! `Ki Mi Gi Ti Pi` (powers of 1024), optionally followed by `B`:
//! `25M` objects, `1.5TiB`, `500GB`.

use std::fmt;
use std::str::FromStr;

/// A parsed threshold range.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// Lower bound; `None` is minus infinity.
    pub low: Option<f64>,
    /// Upper bound; `None` is infinity.
    pub high: Option<f64>,
    /// `@`: alert inside the range instead of outside.
    pub inside: bool,
    text: String,
}

impl Threshold {
    /// Whether `value` should raise this alert.
    pub fn alerts(&self, value: f64) -> bool {
        let within = self.low.is_none_or(|l| value >= l) && self.high.is_none_or(|h| value <= h);
        within == self.inside
    }

    /// The range as given (for perfdata and messages).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The plain upper limit for numeric perfdata, when the range is simply "alert above N".
    pub fn simple_limit(&self) -> Option<f64> {
        (!self.inside && self.low.is_none_or(|l| l == 0.0))
            .then_some(self.high)
            .flatten()
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parses a number with an optional size suffix.
pub fn parse_amount(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let t = t.strip_suffix(['B', 'b']).unwrap_or(t);
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    let factor: f64 = match suffix {
        "" => 1.0,
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        _ => {
            return Err(format!(
                "{s:?}: unknown suffix {suffix:?} (use k M G T P or Ki Mi Gi Ti Pi)"
            ))
        }
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if !n.is_finite() {
        return Err(format!("{s:?} is not a finite number"));
    }
    Ok(n * factor)
}

impl FromStr for Threshold {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let text = s.trim().to_string();
        let (inside, body) = match text.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, text.as_str()),
        };
        if body.is_empty() {
            return Err(format!(
                "{s:?} is not a threshold: expected N, N:, ~:N, N:M or @N:M"
            ));
        }
        let (low, high) = match body.split_once(':') {
            None => (Some(0.0), Some(parse_amount(body)?)),
            Some((lo, hi)) => {
                let low = match lo.trim() {
                    "~" => None,
                    "" => Some(0.0),
                    l => Some(parse_amount(l)?),
                };
                let high = match hi.trim() {
                    "" => None,
                    h => Some(parse_amount(h)?),
                };
                (low, high)
            }
        };
        if let (Some(l), Some(h)) = (low, high) {
            if l > h {
                return Err(format!("{s:?}: the start of the range is above its end"));
            }
        }
        Ok(Self {
            low,
            high,
            inside,
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Threshold {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_follow_the_plugin_guidelines() {
        assert!(!t("10").alerts(10.0));
        assert!(t("10").alerts(11.0));
        assert!(t("10").alerts(-1.0));
        assert!(t("10:").alerts(9.0));
        assert!(!t("10:").alerts(1e12));
        assert!(!t("~:10").alerts(-5.0));
        assert!(t("~:10").alerts(10.5));
        assert!(t("10:20").alerts(9.0));
        assert!(!t("10:20").alerts(15.0));
        assert!(t("@10:20").alerts(15.0));
        assert!(!t("@10:20").alerts(21.0));
    }

    #[test]
    fn amounts_take_suffixes() {
        assert_eq!(parse_amount("25M").unwrap(), 25e6);
        assert_eq!(parse_amount("1.5TiB").unwrap(), 1.5 * 1024f64.powi(4));
        assert_eq!(parse_amount("500GB").unwrap(), 500e9);
        assert_eq!(parse_amount("2k").unwrap(), 2000.0);
        assert_eq!(parse_amount("-3").unwrap(), -3.0);
        assert_eq!(t("1Ki:2Ki").high, Some(2048.0));
        assert!(parse_amount("3X").is_err());
        assert!(parse_amount("abc").is_err());
        assert!("".parse::<Threshold>().is_err());
        assert!("20:10".parse::<Threshold>().is_err());
        assert!("@".parse::<Threshold>().is_err());
    }

    #[test]
    fn simple_limits_go_to_perfdata() {
        assert_eq!(t("100").simple_limit(), Some(100.0));
        assert_eq!(t("~:100").simple_limit(), Some(100.0));
        assert_eq!(t("100:").simple_limit(), None);
        assert_eq!(t("@0:100").simple_limit(), None);
    }
}
