//! Time series for the simulators: a step function of whole minutes,
//! read from `minute,value` CSV (demand, spot prices).

/// A step function of time: each `(minute, value)` holds until the next.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    points: Vec<(u32, f64)>,
}

/// Bad series input.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SeriesError(pub String);

impl Series {
    /// From points sorted by minute (checked).
    pub fn new(points: Vec<(u32, f64)>) -> Result<Self, SeriesError> {
        if points.is_empty() {
            return Err(SeriesError("no data rows".into()));
        }
        for w in points.windows(2) {
            if w[1].0 <= w[0].0 {
                return Err(SeriesError(format!(
                    "minutes must increase: {} follows {}",
                    w[1].0, w[0].0
                )));
            }
        }
        if let Some((m, v)) = points.iter().find(|(_, v)| !(v.is_finite() && *v >= 0.0)) {
            return Err(SeriesError(format!(
                "minute {m}: {v} is not a non-negative number"
            )));
        }
        Ok(Self { points })
    }

    /// A constant.
    pub fn constant(value: f64) -> Self {
        Self {
            points: vec![(0, value)],
        }
    }

    /// `value` for `minutes` minutes.
    pub fn constant_for(value: f64, minutes: u32) -> Self {
        Self {
            points: if minutes > 1 {
                vec![(0, value), (minutes - 1, value)]
            } else {
                vec![(0, value)]
            },
        }
    }

    /// Parses CSV with a header row and two columns: minute, value. The
    /// minute column is whole minutes from the start of the trace.
    pub fn from_csv(text: &str, what: &str) -> Result<Self, SeriesError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let mut points = Vec::new();
        for (i, row) in reader.records().enumerate() {
            let line = i + 2;
            let row = row.map_err(|e| SeriesError(format!("{what}: line {line}: {e}")))?;
            let (Some(m), Some(v)) = (row.get(0), row.get(1)) else {
                return Err(SeriesError(format!(
                    "{what}: line {line}: expected two columns: minute,value"
                )));
            };
            let minute: u32 = m.parse().map_err(|_| {
                SeriesError(format!(
                    "{what}: line {line}: minute {m:?} is not a whole number"
                ))
            })?;
            let value: f64 = v
                .parse()
                .map_err(|_| SeriesError(format!("{what}: line {line}: {v:?} is not a number")))?;
            points.push((minute, value));
        }
        Self::new(points).map_err(|e| SeriesError(format!("{what}: {e}")))
    }

    /// Value at `minute` (the last point at or before it; the first before the start).
    pub fn at(&self, minute: u32) -> f64 {
        let i = self.points.partition_point(|(m, _)| *m <= minute);
        self.points[i.saturating_sub(1)].1
    }

    /// Minutes covered: up to and including the last point's minute.
    pub fn len_minutes(&self) -> u32 {
        self.points.last().map_or(0, |(m, _)| m + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_parse_and_step() {
        let s = Series::from_csv("minute,value\n0,1\n10,2.5\n", "demand").unwrap();
        assert_eq!(s.at(0), 1.0);
        assert_eq!(s.at(9), 1.0);
        assert_eq!(s.at(10), 2.5);
        assert_eq!(s.at(1000), 2.5);
        assert_eq!(s.len_minutes(), 11);
        let e = Series::from_csv("minute,value\n5,1\n3,1\n", "demand").unwrap_err();
        assert_eq!(e.to_string(), "demand: minutes must increase: 3 follows 5");
        let e = Series::from_csv("minute,value\n0,x\n", "prices.csv").unwrap_err();
        assert_eq!(e.to_string(), "prices.csv: line 2: \"x\" is not a number");
        let e = Series::from_csv("minute,value\n", "d").unwrap_err();
        assert_eq!(e.to_string(), "d: no data rows");
        let e = Series::from_csv("minute,value\n0,-1\n", "d").unwrap_err();
        assert!(e.to_string().contains("not a non-negative"), "{e}");
    }
}
