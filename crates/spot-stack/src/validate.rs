//! Local invariants of a stack configuration, checked before anything is sent
//! to AWS. Each problem names the setting to change.

use serde::Serialize;

use crate::config::{GroupPolicy, StackConfig};
use crate::template::Strategy;
use crate::text::fmt_num;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The stack would not work as intended: `validate` and `deploy` refuse.
    Error,
    /// Works, but probably not what you want.
    Warning,
}

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub severity: Severity,
    /// The setting to look at (`spot.scale_up.threshold`).
    pub setting: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}: {}: {}", self.setting, self.message)
    }
}

struct Problems(Vec<Problem>);

impl Problems {
    fn error(&mut self, setting: impl Into<String>, message: impl Into<String>) {
        self.push(Severity::Error, setting, message);
    }
    fn warn(&mut self, setting: impl Into<String>, message: impl Into<String>) {
        self.push(Severity::Warning, setting, message);
    }
    fn push(&mut self, severity: Severity, setting: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            severity,
            setting: setting.into(),
            message: message.into(),
        });
    }
}

/// All problems of `config` for `strategy` (`max_price`: the `--max-price`
/// override; `on_demand_price`: of the primary type, when known).
pub fn check(
    config: &StackConfig,
    strategy: Strategy,
    max_price: Option<f64>,
    on_demand_price: Option<f64>,
) -> Vec<Problem> {
    let mut p = Problems(Vec::new());
    let inst = &config.instances;
    if inst.ami.trim().is_empty() {
        p.error(
            "instances.ami",
            "not set (an ami-... id or a {{resolve:ssm:...}} reference)",
        );
    } else if !inst.ami.starts_with("ami-") && !inst.ami.starts_with("{{resolve:") {
        p.error(
            "instances.ami",
            format!(
                "{:?} is neither an ami-... id nor a {{{{resolve:ssm:...}}}} reference",
                inst.ami
            ),
        );
    }
    if inst.subnets.is_empty() {
        p.error("instances.subnets", "empty: name at least one subnet");
    } else if inst.subnets.len() == 1 {
        p.warn(
            "instances.subnets",
            "only one subnet: spot capacity comes and goes per zone, use two or more",
        );
    }
    if inst.instance_types.is_empty() {
        p.error(
            "instances.instance_types",
            "empty: name at least one instance type",
        );
    }
    if strategy == Strategy::Mixed && inst.instance_types.len() < 2 {
        p.warn(
            "instances.instance_types",
            "the mixed strategy draws spot capacity from several types: list two or more",
        );
    }
    if inst.boot_seconds == 0 || inst.boot_seconds > 3600 {
        p.error(
            "instances.boot_seconds",
            format!(
                "{} is not a plausible boot time (1..=3600 s)",
                inst.boot_seconds
            ),
        );
    }
    match strategy {
        Strategy::TwoGroups => {
            group(&mut p, "on_demand", &config.on_demand);
            group(&mut p, "spot", &config.spot.group);
            preference(&mut p, config);
        }
        Strategy::Mixed => {
            let (min, max) = config.mixed_bounds();
            if min > max {
                p.error("mixed.min", format!("min ({min}) is above max ({max})"));
            }
            if max == 0 {
                p.error("mixed.max", "0: the group can never run an instance");
            }
            let m = &config.mixed;
            if m.on_demand_base > max {
                p.error(
                    "mixed.on_demand_base",
                    format!("{} is above the group's max ({max})", m.on_demand_base),
                );
            }
            if m.on_demand_percentage_above_base > 100 {
                p.error(
                    "mixed.on_demand_percentage_above_base",
                    format!(
                        "{} is not a percentage (0..=100)",
                        m.on_demand_percentage_above_base
                    ),
                );
            }
            if !(m.target_cpu > 0.0 && m.target_cpu < 100.0) {
                p.error(
                    "mixed.target_cpu",
                    format!(
                        "{} is not a CPU percentage (between 0 and 100)",
                        fmt_num(m.target_cpu)
                    ),
                );
            }
            const STRATEGIES: &[&str] = &[
                "price-capacity-optimized",
                "capacity-optimized",
                "capacity-optimized-prioritized",
                "lowest-price",
            ];
            if !STRATEGIES.contains(&m.spot_allocation_strategy.as_str()) {
                p.error(
                    "mixed.spot_allocation_strategy",
                    format!(
                        "{:?} is not one of {}",
                        m.spot_allocation_strategy,
                        STRATEGIES.join(", ")
                    ),
                );
            }
        }
    }
    if let Some(price) = max_price.or(config.spot.max_price) {
        if !(price > 0.0 && price.is_finite()) {
            p.error(
                "spot.max_price",
                format!("{} is not a positive price", fmt_num(price)),
            );
        } else if let Some(od) = on_demand_price {
            if price > od {
                p.warn(
                    "spot.max_price",
                    format!(
                        "{} is above the on-demand price ({}): spot could cost more than on-demand",
                        fmt_num(price),
                        fmt_num(od)
                    ),
                );
            } else if price < od * 0.2 {
                p.warn(
                    "spot.max_price",
                    format!(
                        "{} is under a fifth of the on-demand price ({}): expect frequent reclaims; unset it to cap at on-demand",
                        fmt_num(price),
                        fmt_num(od)
                    ),
                );
            }
        }
    }
    p.0
}

/// A sanity bound far above real groups (the simulator keeps one entry per instance).
const MAX_GROUP_SIZE: u32 = 100_000;

fn group(p: &mut Problems, name: &str, g: &GroupPolicy) {
    if g.min > g.max {
        p.error(
            format!("{name}.min"),
            format!("min ({}) is above max ({})", g.min, g.max),
        );
    }
    if g.max == 0 {
        p.error(
            format!("{name}.max"),
            "0: the group can never run an instance",
        );
    }
    if g.max > MAX_GROUP_SIZE {
        p.error(
            format!("{name}.max"),
            format!("{} is above {MAX_GROUP_SIZE} instances per group", g.max),
        );
    }
    for (which, step) in [("scale_up", &g.scale_up), ("scale_down", &g.scale_down)] {
        if !(step.threshold > 0.0 && step.threshold < 100.0) {
            p.error(
                format!("{name}.{which}.threshold"),
                format!(
                    "{}% is not a CPU threshold (between 0 and 100)",
                    fmt_num(step.threshold)
                ),
            );
        }
        if step.adjustment == 0 {
            p.error(
                format!("{name}.{which}.adjustment"),
                "0: the policy would do nothing",
            );
        }
        if step.cooldown > 86_400 {
            p.error(
                format!("{name}.{which}.cooldown"),
                format!("{} s is more than a day", step.cooldown),
            );
        }
    }
    if g.scale_up.threshold <= g.scale_down.threshold {
        p.error(
            format!("{name}.scale_up.threshold"),
            format!(
                "scale-up threshold ({}%) must be above the scale-down threshold ({}%), or the group flaps",
                fmt_num(g.scale_up.threshold),
                fmt_num(g.scale_down.threshold)
            ),
        );
    }
    // CloudWatch accepts 10, 30 and multiples of 60 seconds.
    if !(g.period == 10 || g.period == 30 || (g.period >= 60 && g.period % 60 == 0)) {
        p.error(
            format!("{name}.period"),
            format!(
                "{} s: CloudWatch periods are 10, 30 or a multiple of 60 seconds",
                g.period
            ),
        );
    }
    if g.evaluation_periods == 0 {
        p.error(
            format!("{name}.evaluation_periods"),
            "0: must be at least 1",
        );
    } else if u64::from(g.period) * u64::from(g.evaluation_periods) > 86_400 {
        p.error(
            format!("{name}.evaluation_periods"),
            "period × evaluation_periods exceeds one day (CloudWatch's limit)",
        );
    }
    if g.period < 60 && g.period != 0 {
        p.warn(
            format!("{name}.period"),
            "periods under 60 s need detailed monitoring (high-resolution metrics) on the instances",
        );
    }
}

/// Spot must be preferred: it scales up earlier and down earlier than
/// on-demand, and keeps CPU low enough for on-demand to scale back in.
fn preference(p: &mut Problems, c: &StackConfig) {
    let od = &c.on_demand;
    let spot = &c.spot.group;
    if spot.scale_up.threshold >= od.scale_up.threshold {
        p.error(
            "spot.scale_up.threshold",
            format!(
                "spot scale-up threshold ({}%) must be below on-demand's ({}%) so spot scales first",
                fmt_num(spot.scale_up.threshold),
                fmt_num(od.scale_up.threshold)
            ),
        );
    }
    if spot.scale_down.threshold >= od.scale_down.threshold {
        p.error(
            "spot.scale_down.threshold",
            format!(
                "spot scale-down threshold ({}%) must be below on-demand's ({}%) so on-demand is removed first",
                fmt_num(spot.scale_down.threshold),
                fmt_num(od.scale_down.threshold)
            ),
        );
    }
    if spot.scale_up.threshold >= od.scale_down.threshold {
        p.warn(
            "spot.scale_up.threshold",
            format!(
                "spot keeps CPU under {}%, which is not below on-demand's scale-down threshold ({}%): on-demand instances may never be phased out",
                fmt_num(spot.scale_up.threshold),
                fmt_num(od.scale_down.threshold)
            ),
        );
    }
    if spot.max == 0 {
        p.error("spot.max", "0: the stack would never use spot");
    }
}

/// Whether any problem is an error.
pub fn has_errors(problems: &[Problem]) -> bool {
    problems.iter().any(|p| p.severity == Severity::Error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StackConfig;

    fn good() -> StackConfig {
        let mut c = StackConfig::default();
        c.instances.ami = "ami-1".into();
        c.instances.subnets = vec!["subnet-a".into(), "subnet-b".into()];
        c.instances.instance_types = vec!["c5.large".into(), "c6i.large".into()];
        c
    }

    fn errors(c: &StackConfig, strategy: Strategy) -> Vec<String> {
        check(c, strategy, None, Some(0.085))
            .into_iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| p.to_string())
            .collect()
    }

    fn one_error(c: &StackConfig, setting: &str, needle: &str) {
        let e = errors(c, Strategy::TwoGroups);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with(&format!("error: {setting}: ")), "{e:?}");
        assert!(e[0].contains(needle), "{e:?}");
    }

    #[test]
    fn seed_defaults_are_clean() {
        assert_eq!(
            check(&good(), Strategy::TwoGroups, None, Some(0.085)),
            vec![]
        );
        assert_eq!(check(&good(), Strategy::Mixed, None, Some(0.085)), vec![]);
    }

    #[test]
    fn scale_up_must_be_above_scale_down_in_each_group() {
        let mut c = good();
        c.on_demand.scale_down.threshold = 85.0;
        let e = errors(&c, Strategy::TwoGroups);
        assert!(e.iter().any(|e| e.starts_with("error: on_demand.scale_up.threshold: scale-up threshold (80%) must be above the scale-down threshold (85%)")), "{e:?}");
        let mut c = good();
        c.spot.group.scale_up.threshold = 30.0;
        one_error(
            &c,
            "spot.scale_up.threshold",
            "must be above the scale-down threshold (30%)",
        );
    }

    #[test]
    fn spot_must_be_preferred() {
        let mut c = good();
        c.spot.group.scale_up.threshold = 85.0;
        c.spot.group.scale_down.threshold = 31.0;
        let e = errors(&c, Strategy::TwoGroups);
        assert!(
            e.iter().any(|e| e.contains("so spot scales first")),
            "{e:?}"
        );
        let mut c = good();
        c.spot.group.scale_down.threshold = 66.0;
        c.spot.group.scale_up.threshold = 70.0;
        let e = errors(&c, Strategy::TwoGroups);
        assert!(
            e.iter()
                .any(|e| e.contains("so on-demand is removed first")),
            "{e:?}"
        );
    }

    #[test]
    fn spot_up_above_on_demand_down_is_a_warning() {
        let mut c = good();
        c.spot.group.scale_up.threshold = 70.0;
        let p = check(&c, Strategy::TwoGroups, None, None);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].severity, Severity::Warning);
        assert!(p[0].message.contains("never be phased out"));
    }

    #[test]
    fn min_above_max() {
        let mut c = good();
        c.on_demand.min = 5;
        c.on_demand.max = 2;
        one_error(&c, "on_demand.min", "min (5) is above max (2)");
        let mut c = good();
        c.mixed.min = Some(9);
        c.mixed.max = Some(3);
        let e = errors(&c, Strategy::Mixed);
        assert!(
            e[0].starts_with("error: mixed.min: min (9) is above max (3)"),
            "{e:?}"
        );
    }

    #[test]
    fn periods_and_steps_must_be_sane() {
        let mut c = good();
        c.spot.group.period = 90;
        one_error(&c, "spot.period", "multiple of 60");
        let mut c = good();
        c.on_demand.evaluation_periods = 0;
        one_error(&c, "on_demand.evaluation_periods", "at least 1");
        let mut c = good();
        c.on_demand.evaluation_periods = 300;
        one_error(&c, "on_demand.evaluation_periods", "one day");
        let mut c = good();
        c.on_demand.scale_up.adjustment = 0;
        one_error(&c, "on_demand.scale_up.adjustment", "do nothing");
        let mut c = good();
        c.on_demand.scale_up.threshold = 120.0;
        one_error(&c, "on_demand.scale_up.threshold", "not a CPU threshold");
        let mut c = good();
        c.spot.group.scale_down.cooldown = 100_000;
        one_error(&c, "spot.scale_down.cooldown", "more than a day");
        let mut c = good();
        c.instances.boot_seconds = 0;
        one_error(&c, "instances.boot_seconds", "plausible");
    }

    #[test]
    fn instances_must_be_set() {
        let mut c = good();
        c.instances.ami.clear();
        one_error(&c, "instances.ami", "not set");
        let mut c = good();
        c.instances.ami = "my-image".into();
        one_error(&c, "instances.ami", "neither");
        let mut c = good();
        c.instances.subnets.clear();
        one_error(&c, "instances.subnets", "at least one subnet");
        let mut c = good();
        c.instances.instance_types.clear();
        one_error(&c, "instances.instance_types", "at least one");
    }

    #[test]
    fn max_price_sanity() {
        let c = good();
        let p = check(&c, Strategy::TwoGroups, Some(-1.0), Some(0.085));
        assert!(p[0]
            .to_string()
            .starts_with("error: spot.max_price: -1 is not a positive price"));
        let p = check(&c, Strategy::TwoGroups, Some(0.2), Some(0.085));
        assert_eq!(p[0].severity, Severity::Warning);
        assert!(p[0].message.contains("above the on-demand price"));
    }

    #[test]
    fn mixed_settings() {
        let mut c = good();
        c.mixed.spot_allocation_strategy = "cheapest".into();
        c.mixed.on_demand_percentage_above_base = 101;
        c.mixed.target_cpu = 0.0;
        let e = errors(&c, Strategy::Mixed);
        assert_eq!(e.len(), 3, "{e:?}");
    }
}
