//! Values people type on command lines and read in reports: durations.

use std::time::Duration;

/// `90` (seconds), `500ms`, `90s`, `1.5h`, `26h`, `2d`, `1h30m`: a positive
/// duration for flags such as `--max-age` or `--duration`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad =
        || format!("{s:?} is not a duration: expected e.g. 500ms, 90s, 10m, 26h, 2d or 1h30m");
    let text = s.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return positive(secs).ok_or_else(bad);
    }
    let mut total = 0.0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (n, tail) = rest.split_at(digits);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            _ => return Err(bad()),
        };
        let n: f64 = n.parse().map_err(|_| bad())?;
        total += n * scale;
        rest = next;
    }
    positive(total).ok_or_else(bad)
}

fn positive(secs: f64) -> Option<Duration> {
    (secs > 0.0 && secs.is_finite() && secs < 1e12).then(|| Duration::from_secs_f64(secs))
}

/// A duration as people say it: `45s`, `12m 5s`, `3h 2m`, `2d 4h`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_combined() {
        let d = |s: &str| parse_duration(s).unwrap();
        assert_eq!(d("90"), Duration::from_secs(90));
        assert_eq!(d("90s"), Duration::from_secs(90));
        assert_eq!(d("500ms"), Duration::from_millis(500));
        assert_eq!(d("10m"), Duration::from_secs(600));
        assert_eq!(d("26h"), Duration::from_secs(93_600));
        assert_eq!(d("1.5h"), Duration::from_secs(5400));
        assert_eq!(d("2d"), Duration::from_secs(172_800));
        assert_eq!(d("1h30m"), Duration::from_secs(5400));
        for bad in [
            "",
            "0",
            "0s",
            "h",
            "10x",
            "1w",
            "-5m",
            "5 m",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn human_durations() {
        let h = |s| human_duration(Duration::from_secs(s));
        assert_eq!(h(45), "45s");
        assert_eq!(h(725), "12m 5s");
        assert_eq!(h(3 * 3600 + 150), "3h 2m");
        assert_eq!(h(2 * 86_400 + 4 * 3600), "2d 4h");
    }
}
