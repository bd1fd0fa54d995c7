//! Nagios / Sensu plugin output: one status line with perfdata, exit 0/1/2/3.
//!
//! Format (Nagios plugin guidelines):
//! `SERVICE STATUS - summary | 'label'=value[UOM];warn;crit;min;max ...`

use std::fmt;

pub mod threshold;
pub use threshold::Threshold;

/// Plugin status; the discriminant is the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl Status {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// Worst of two statuses, where UNKNOWN outranks CRITICAL only when
    /// nothing is CRITICAL (a known failure is more useful than "unknown").
    pub fn worst(self, other: Status) -> Status {
        use Status::*;
        match (self, other) {
            (Critical, _) | (_, Critical) => Critical,
            (Unknown, _) | (_, Unknown) => Unknown,
            (Warning, _) | (_, Warning) => Warning,
            _ => Ok,
        }
    }

    /// Compares `value` with optional Nagios ranges (`--warning 10`, `10:`,
    /// `@10:20`, `1.5TiB`: see [`threshold`]).
    pub fn of(value: f64, warning: Option<&Threshold>, critical: Option<&Threshold>) -> Status {
        if critical.is_some_and(|t| t.alerts(value)) {
            Status::Critical
        } else if warning.is_some_and(|t| t.alerts(value)) {
            Status::Warning
        } else {
            Status::Ok
        }
    }

    /// Compares `value` with optional thresholds (alert when value > threshold).
    pub fn from_thresholds(value: f64, warning: Option<f64>, critical: Option<f64>) -> Status {
        if critical.is_some_and(|c| value > c) {
            Status::Critical
        } else if warning.is_some_and(|w| value > w) {
            Status::Warning
        } else {
            Status::Ok
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        })
    }
}

/// One perfdata item: `'label'=value[UOM];warn;crit;min;max`.
#[derive(Debug, Clone, PartialEq)]
pub struct Perf {
    pub label: String,
    pub value: f64,
    /// "", "s", "%", "B", "KB", "MB", "TB" or "c" (counter).
    pub uom: &'static str,
    pub warn: Option<f64>,
    pub crit: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Perf {
    pub fn new(label: impl Into<String>, value: f64, uom: &'static str) -> Self {
        Self {
            label: label.into(),
            value,
            uom,
            warn: None,
            crit: None,
            min: None,
            max: None,
        }
    }

    pub fn thresholds(mut self, warn: Option<f64>, crit: Option<f64>) -> Self {
        self.warn = warn;
        self.crit = crit;
        self
    }

    /// The thresholds of Nagios ranges that are simply "above N" (other
    /// ranges leave the perfdata field empty).
    pub fn ranges(self, warn: Option<&Threshold>, crit: Option<&Threshold>) -> Self {
        self.thresholds(
            warn.and_then(Threshold::simple_limit),
            crit.and_then(Threshold::simple_limit),
        )
    }

    pub fn min(mut self, min: f64) -> Self {
        self.min = Some(min);
        self
    }
}

fn num(v: Option<f64>) -> String {
    match v {
        // Integers without a trailing ".0": Nagios graphers parse both, people read this better.
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
        Some(v) => format!("{v}"),
        None => String::new(),
    }
}

impl fmt::Display for Perf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Quotes inside labels are doubled, per the plugin guidelines; '=' is not allowed.
        let label = self.label.replace('\'', "''").replace('=', "_");
        let s = format!(
            "'{label}'={}{};{};{};{};{}",
            num(Some(self.value)),
            self.uom,
            num(self.warn),
            num(self.crit),
            num(self.min),
            num(self.max)
        );
        f.write_str(s.trim_end_matches(';'))
    }
}

/// A complete plugin result.
#[derive(Debug, Clone)]
pub struct Check {
    pub service: String,
    pub status: Status,
    pub summary: String,
    pub perf: Vec<Perf>,
}

impl Check {
    pub fn new(service: impl Into<String>, status: Status, summary: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            status,
            summary: summary.into(),
            perf: Vec::new(),
        }
    }

    /// An UNKNOWN result for a failure to even measure (bad input, unreachable service).
    pub fn unknown(service: impl Into<String>, error: impl fmt::Display) -> Self {
        // One line: the first line of a multi-line error.
        let msg = error.to_string();
        let first = msg.lines().next().unwrap_or("").to_string();
        Self::new(service, Status::Unknown, first)
    }

    /// Prints the status line on stdout and returns the exit code. A closed
    /// stdout is ignored: the exit code is the plugin's real answer.
    pub fn emit(&self) -> i32 {
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), "{self}");
        self.status.code()
    }
}

/// How long a check may take before it answers UNKNOWN (`--timeout`): a
/// second under `check_nrpe`'s own 10, so that ours answers first.
pub const DEFAULT_TIMEOUT_SECS: u64 = 9;

/// `--warning`, `--critical`, `--timeout`: flattened into every check. What
/// the ranges apply to is the check's own (its `--help` says); a tool ties
/// the thresholds to its check switch with
/// `#[command(mut_arg("warning", |a| a.requires("nagios")))]` (and likewise
/// for `critical`).
#[derive(Debug, Clone, clap::Args)]
pub struct NagiosArgs {
    /// WARNING range of the check's value, as in the plugin guidelines: `10` alerts
    /// above 10, `10:` below 10, `~:10` above 10, `@10:20` inside; numbers take
    /// k M G T (x1000) or Ki Mi Gi Ti (x1024) suffixes.
    #[arg(
        long,
        value_name = "RANGE",
        allow_hyphen_values = true,
        help_heading = "Nagios"
    )]
    pub warning: Option<Threshold>,
    /// CRITICAL range of the check's value (same syntax as --warning).
    #[arg(
        long,
        value_name = "RANGE",
        allow_hyphen_values = true,
        help_heading = "Nagios"
    )]
    pub critical: Option<Threshold>,
    /// Answer UNKNOWN when the check has not finished after this many seconds (the
    /// default answers before check_nrpe's own 10; raise both for big checks).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..), env = "MC_NAGIOS_TIMEOUT", help_heading = "Nagios")]
    pub timeout: u64,
}

impl Default for NagiosArgs {
    fn default() -> Self {
        Self {
            warning: None,
            critical: None,
            timeout: DEFAULT_TIMEOUT_SECS,
        }
    }
}

impl NagiosArgs {
    /// Thresholds from range strings, as `--warning`/`--critical` take them.
    pub fn from_ranges(warning: Option<&str>, critical: Option<&str>) -> Result<Self, String> {
        Ok(Self {
            warning: warning.map(str::parse).transpose()?,
            critical: critical.map(str::parse).transpose()?,
            ..Self::default()
        })
    }

    /// The status of `value` against the thresholds.
    pub fn status(&self, value: f64) -> Status {
        Status::of(value, self.warning.as_ref(), self.critical.as_ref())
    }
}

/// Runs `check` on `runtime`; when it has not finished after `seconds`,
/// prints an UNKNOWN line for `service` instead and gives its exit code. A
/// check that runs past its caller's own timeout would be killed and read as
/// CRITICAL, so the caller must not wait for blocking threads (a DNS
/// lookup, a stdin read) that may still be busy: it exits without shutting
/// `runtime` down.
#[cfg(feature = "aws")]
pub fn run_check<T>(
    runtime: &tokio::runtime::Runtime,
    seconds: u64,
    service: &str,
    check: impl std::future::Future<Output = T>,
) -> Result<T, i32> {
    let deadline = std::time::Duration::from_secs(seconds);
    let done = runtime.block_on(async { tokio::time::timeout(deadline, check).await });
    done.map_err(|_| {
        Check::unknown(service, format!("no answer within {seconds} s (--timeout)")).emit()
    })
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let summary = self.summary.replace(['\n', '|'], " ");
        write!(f, "{} {} - {}", self.service, self.status, summary)?;
        if !self.perf.is_empty() {
            f.write_str(" |")?;
            for p in &self.perf {
                write!(f, " {p}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_with_perfdata() {
        let mut c = Check::new("S3KEYS", Status::Warning, "1200 objects");
        c.perf.push(
            Perf::new("objects", 1200.0, "")
                .thresholds(Some(1000.0), Some(2000.0))
                .min(0.0),
        );
        c.perf.push(Perf::new("it's", 1.5, "s"));
        assert_eq!(
            c.to_string(),
            "S3KEYS WARNING - 1200 objects | 'objects'=1200;1000;2000;0 'it''s'=1.5s"
        );
    }

    #[test]
    fn thresholds_and_worst() {
        assert_eq!(
            Status::from_thresholds(5.0, Some(10.0), Some(20.0)),
            Status::Ok
        );
        assert_eq!(
            Status::from_thresholds(15.0, Some(10.0), Some(20.0)),
            Status::Warning
        );
        assert_eq!(
            Status::from_thresholds(25.0, Some(10.0), Some(20.0)),
            Status::Critical
        );
        assert_eq!(Status::Ok.worst(Status::Unknown), Status::Unknown);
        assert_eq!(Status::Unknown.worst(Status::Critical), Status::Critical);
        assert_eq!(Status::Critical.code(), 2);
    }

    #[derive(clap::Parser, Debug)]
    #[command(
        name = "t",
        mut_arg("warning", |a| a.requires("nagios")),
        mut_arg("critical", |a| a.requires("nagios"))
    )]
    struct Cli {
        #[arg(long)]
        nagios: bool,
        #[command(flatten)]
        check: NagiosArgs,
    }

    /// A tool ties the shared thresholds to its own check switch.
    #[test]
    fn thresholds_need_the_tools_check_switch() {
        use clap::Parser;
        assert!(Cli::try_parse_from(["t", "--warning", "5"]).is_err());
        let cli =
            Cli::try_parse_from(["t", "--nagios", "--warning", "5", "--critical", "@1:2"]).unwrap();
        assert_eq!(cli.check.status(6.0), Status::Warning);
        assert_eq!(cli.check.status(1.5), Status::Critical);
        assert_eq!(cli.check.timeout, DEFAULT_TIMEOUT_SECS);
    }

    #[test]
    fn unknown_is_one_line() {
        let c = Check::unknown("PGBLOAT", "cannot read a.csv\ncaused by: x");
        assert_eq!(c.to_string(), "PGBLOAT UNKNOWN - cannot read a.csv");
    }
}
