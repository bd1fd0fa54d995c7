//! Values people type on command lines: durations.

use std::time::Duration;

/// `90`, `90s`, `500ms`, `10m`, `1h`, `2d` as a duration (a plain number is
/// seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => {
            return Err(format!(
                "{s:?}: expected a duration like 500ms, 90s, 10m, 1h or 2d"
            ))
        }
    };
    match num.parse::<f64>() {
        Ok(v) if v > 0.0 && (v * scale).is_finite() => Ok(Duration::from_secs_f64(v * scale)),
        _ => Err(format!("{s:?}: expected a positive duration like 90s")),
    }
}

/// A duration for people, to the minute past an hour: `45 s`, `12 min`,
/// `3 h 20 min`, `2 d 4 h`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("36h"), Ok(Duration::from_secs(129_600)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("x").is_err());
    }

    #[test]
    fn durations_print() {
        assert_eq!(human_duration(Duration::from_secs(5)), "5 s");
        assert_eq!(
            human_duration(Duration::from_secs(3 * 3600 + 1260)),
            "3 h 21 min"
        );
        assert_eq!(
            human_duration(Duration::from_secs(2 * 86_400 + 7200)),
            "2 d 2 h"
        );
    }
}
