//! Local invariants of a stack configuration, checked before anything is sent
//! to AWS. Each problem names the setting to change.

use serde::Serialize;

use crate::config::{GroupPolicy, StackConfig, Step};
use crate::template::{Shape, Strategy};

mod choice;
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

pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    pub(crate) fn error(&mut self, setting: impl Into<String>, message: impl Into<String>) {
        self.push(Severity::Error, setting, message);
    }
    pub(crate) fn warn(&mut self, setting: impl Into<String>, message: impl Into<String>) {
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

/// All problems of `config` for `shape` (`on_demand_price`: of the
/// primary type, when known).
pub fn check(config: &StackConfig, shape: Shape, on_demand_price: Option<f64>) -> Vec<Problem> {
    let mut p = Problems(Vec::new());
    instances(&mut p, config);
    choice::check(&mut p, config, shape);
    match shape.strategy {
        Strategy::TwoGroups | Strategy::Seed => {
            group(&mut p, "on_demand", &config.on_demand);
            group(&mut p, "spot", &config.spot.group);
            preference(&mut p, config);
        }
        Strategy::Mixed => mixed(&mut p, config),
    }
    max_price(&mut p, config, shape.max_price, on_demand_price);
    if shape.has_fallback() {
        fallback(&mut p, config, shape.strategy);
    }
    drain(&mut p, config);
    p.0
}

fn instances(p: &mut Problems, config: &StackConfig) {
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
    if inst.boot_seconds == 0 || inst.boot_seconds > 3600 {
        p.error(
            "instances.boot_seconds",
            format!(
                "{} is not a plausible boot time (1..=3600 s)",
                inst.boot_seconds
            ),
        );
    }
}

fn mixed(p: &mut Problems, config: &StackConfig) {
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
}

/// A max price only adds interruptions today; a bad one is an error.
fn max_price(p: &mut Problems, config: &StackConfig, flag: Option<f64>, od: Option<f64>) {
    let Some(price) = flag.or(config.spot.max_price) else {
        return;
    };
    if !(price > 0.0 && price.is_finite()) {
        p.error(
            "spot.max_price",
            format!("{} is not a positive price", fmt_num(price)),
        );
        return;
    }
    let detail = match od {
        Some(od) if price > od => format!(
            " ({} is above the on-demand price, {}: spot could cost more than on-demand)",
            fmt_num(price),
            fmt_num(od)
        ),
        Some(od) if price < od * 0.2 => format!(
            " ({} is under a fifth of the on-demand price, {}: expect frequent reclaims)",
            fmt_num(price),
            fmt_num(od)
        ),
        _ => String::new(),
    };
    p.warn(
        "spot.max_price",
        format!(
            "set: spot is reclaimed for capacity, and with a max price also whenever the price passes it; AWS advises leaving it unset (capped at on-demand){detail}"
        ),
    );
}

/// The fallback alarm's settings and what it needs.
fn fallback(p: &mut Problems, config: &StackConfig, strategy: Strategy) {
    let f = &config.fallback;
    if !config.instances.group_metrics {
        p.warn(
            "instances.group_metrics",
            "off, but the fallback alarms read the groups' metrics: the fallback would never come in",
        );
    }
    if !valid_period(f.period) {
        p.error(
            "fallback.period",
            format!(
                "{} s: CloudWatch periods are 10, 30 or a multiple of 60 seconds",
                f.period
            ),
        );
    }
    if f.evaluation_periods == 0 {
        p.error("fallback.evaluation_periods", "0: must be at least 1");
    }
    let mixed = strategy == Strategy::Mixed;
    let spot_max = if mixed {
        config.mixed_bounds().1
    } else {
        config.spot.group.max
    };
    if config.fallback_max(mixed) < spot_max {
        p.warn(
            "fallback.max",
            format!(
                "{} is below the spot side's max ({spot_max}): a full spot outage is only partly covered",
                config.fallback_max(mixed)
            ),
        );
    }
    // Group metrics arrive about a minute late.
    let leaves = u64::from(f.period) * u64::from(f.evaluation_periods) + 60;
    let spot = &config.spot.group;
    let scale_in = u64::from(spot.period) * u64::from(spot.evaluation_periods);
    if !mixed && leaves >= scale_in {
        p.warn(
            "fallback.evaluation_periods",
            format!(
                "on-demand fallback leaves {leaves} s after spot serves again, not sooner than the spot group's {scale_in} s CPU scale-in window: spot may scale in on the surplus, then out again"
            ),
        );
    }
}

/// Interruption handling and the target group the stack creates.
fn drain(p: &mut Problems, config: &StackConfig) {
    let i = &config.interruption;
    if i.enabled {
        if !(30..=7200).contains(&i.drain_seconds) {
            p.error(
                "interruption.drain_seconds",
                format!(
                    "{} s: a lifecycle hook waits 30 to 7200 seconds",
                    i.drain_seconds
                ),
            );
        } else if i.drain_seconds > 110 {
            p.warn(
                "interruption.drain_seconds",
                format!(
                    "{} s is longer than an interrupted spot instance has: its notice comes two minutes before it goes",
                    i.drain_seconds
                ),
            );
        }
        if !config.instances.target_groups.is_empty() {
            p.warn(
                "instances.target_groups",
                format!(
                    "spot-stack cannot set the deregistration delay of target groups it does not create: keep theirs at most {} s (the drain)",
                    i.drain_seconds
                ),
            );
        }
    }
    let Some(tg) = &config.target_group else {
        return;
    };
    if tg.vpc_id.trim().is_empty() {
        p.error("target_group.vpc_id", "not set: the target group's VPC");
    }
    let delay = tg.deregistration_delay;
    if delay > 3600 {
        p.error(
            "target_group.deregistration_delay",
            format!("{delay} s: a target group allows at most 3600"),
        );
    } else if i.enabled && delay > i.drain_seconds {
        p.warn(
            "target_group.deregistration_delay",
            format!(
                "{delay} s is longer than the drain ({} s): the instance goes before its requests finish",
                i.drain_seconds
            ),
        );
    } else if delay > 110 {
        p.warn(
            "target_group.deregistration_delay",
            format!("{delay} s is longer than an interrupted spot instance has (two minutes)"),
        );
    }
}

/// CloudWatch accepts 10, 30 and multiples of 60 seconds.
fn valid_period(period: u32) -> bool {
    period == 10 || period == 30 || (period >= 60 && period.is_multiple_of(60))
}

/// A sanity bound far above real groups (the simulator keeps one entry per instance).
const MAX_GROUP_SIZE: u32 = 100_000;

fn group(p: &mut Problems, name: &str, g: &GroupPolicy) {
    sizes(p, name, g);
    for (which, step) in [("scale_up", &g.scale_up), ("scale_down", &g.scale_down)] {
        scaling_step(p, &format!("{name}.{which}"), step);
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
    alarm_window(p, name, g);
}

fn sizes(p: &mut Problems, name: &str, g: &GroupPolicy) {
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
}

fn scaling_step(p: &mut Problems, setting: &str, step: &Step) {
    if !(step.threshold > 0.0 && step.threshold < 100.0) {
        p.error(
            format!("{setting}.threshold"),
            format!(
                "{}% is not a CPU threshold (between 0 and 100)",
                fmt_num(step.threshold)
            ),
        );
    }
    if step.adjustment == 0 {
        p.error(
            format!("{setting}.adjustment"),
            "0: the policy would do nothing",
        );
    }
    if step.cooldown > 86_400 {
        p.error(
            format!("{setting}.cooldown"),
            format!("{} s is more than a day", step.cooldown),
        );
    }
}

fn alarm_window(p: &mut Problems, name: &str, g: &GroupPolicy) {
    if !valid_period(g.period) {
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
mod tests;
