//! How the spot side chooses its capacity: several pools, AWS's allocation
//! strategy, Capacity Rebalance, weights and attribute-based requirements,
//! and current-generation (EBS-only) types.

use super::Problems;
use crate::config::{Requirements, StackConfig, PRICE_CAPACITY_OPTIMIZED};
use crate::template::{Shape, Strategy};

const STRATEGIES: &[&str] = &[
    PRICE_CAPACITY_OPTIMIZED,
    "capacity-optimized",
    "capacity-optimized-prioritized",
    "lowest-price",
];

/// Families from before the Nitro generation: they can boot instance-store
/// AMIs (a root disk copied from S3 at each boot, gone on every
/// interruption) and their spot pools are small.
const PREVIOUS_GENERATION: &[&str] = &[
    "c1", "c3", "c4", "cc2", "cg1", "cr1", "d2", "g2", "hi1", "hs1", "i2", "m1", "m2", "m3", "m4",
    "r3", "r4", "t1", "x1",
];

pub(super) fn check(p: &mut Problems, config: &StackConfig, shape: Shape) {
    let inst = &config.instances;
    match shape.strategy {
        Strategy::Seed => seed(p, config),
        Strategy::TwoGroups => {
            pools(p, config);
            allocation(
                p,
                "spot.allocation_strategy",
                &config.spot.allocation_strategy,
            );
            rebalance(p, "spot.capacity_rebalance", config.spot.capacity_rebalance);
        }
        Strategy::Mixed => {
            pools(p, config);
            let m = &config.mixed;
            allocation(
                p,
                "mixed.spot_allocation_strategy",
                &m.spot_allocation_strategy,
            );
            rebalance(p, "mixed.capacity_rebalance", m.capacity_rebalance);
        }
    }
    weights(p, config);
    if let Some(req) = &inst.requirements {
        requirements(p, req);
    }
    for t in &inst.instance_types {
        let family = t.split('.').next().unwrap_or_default();
        if PREVIOUS_GENERATION.contains(&family) {
            p.warn(
                "instances.instance_types",
                format!(
                    "{t} is a previous-generation type that can boot instance-store AMIs (a root disk copied from S3 at each boot, lost at every interruption) and has small spot pools: use current-generation, EBS-only types and an EBS-backed AMI (the write-up baked EBS-backed AMIs that boot in about 75 s)"
                ),
            );
        }
    }
}

/// The seed template predates today's spot: say what it lacks.
fn seed(p: &mut Problems, config: &StackConfig) {
    p.warn(
        "instances.instance_types",
        format!(
            "the seed strategy launches {} only: one spot pool per zone, and when it runs short nothing but CPU brings on-demand in (a 5-minute alarm, then boot)",
            config.primary_type()
        ),
    );
    p.warn(
        "--strategy",
        "seed has no Capacity Rebalance and no fallback alarm: use two-groups (the same thresholds) or mixed",
    );
}

fn pools(p: &mut Problems, config: &StackConfig) {
    let inst = &config.instances;
    if inst.requirements.is_none() && inst.instance_types.len() == 1 {
        p.warn(
            "instances.instance_types",
            format!(
                "only {}: one spot pool per zone, so one shortage empties the spot side; list several types (AWS advises being flexible across many) or set [instances.requirements]",
                inst.instance_types[0]
            ),
        );
    }
}

fn allocation(p: &mut Problems, setting: &str, strategy: &str) {
    if !STRATEGIES.contains(&strategy) {
        p.error(
            setting,
            format!("{strategy:?} is not one of {}", STRATEGIES.join(", ")),
        );
    } else if strategy == "lowest-price" {
        p.warn(
            setting,
            format!("lowest-price fills the cheapest pools, which are interrupted most: AWS advises {PRICE_CAPACITY_OPTIMIZED}"),
        );
    }
}

fn rebalance(p: &mut Problems, setting: &str, on: bool) {
    if !on {
        p.warn(
            setting,
            "off: with Capacity Rebalance the group replaces an instance when EC2 signals its elevated risk, usually before the two-minute notice",
        );
    }
}

fn weights(p: &mut Problems, config: &StackConfig) {
    let inst = &config.instances;
    if inst.weighted() && inst.requirements.is_some() {
        p.error(
            "instances.weights",
            "weights apply to listed types, not to [instances.requirements]: use one or the other",
        );
    }
    for (t, w) in &inst.weights {
        if !(1..=999).contains(w) {
            p.error(
                "instances.weights",
                format!("{t} = {w}: a weight is 1 to 999 capacity units"),
            );
        }
        if !inst.instance_types.contains(t) {
            p.error(
                "instances.weights",
                format!("{t} is not in instances.instance_types"),
            );
        }
    }
}

fn requirements(p: &mut Problems, req: &Requirements) {
    let setting = "instances.requirements";
    if req.vcpu.min == 0 {
        p.error(setting, "vcpu.min is 0: at least 1");
    }
    for (name, b) in [("vcpu", req.vcpu), ("memory_mib", req.memory_mib)] {
        if b.max.is_some_and(|max| max < b.min) {
            p.error(setting, format!("{name}: min is above max"));
        }
    }
    for g in &req.instance_generations {
        if g != "current" && g != "previous" {
            p.error(
                setting,
                format!("instance_generations: {g:?} is not current or previous"),
            );
        }
    }
    if !["included", "excluded", "required"].contains(&req.burstable.as_str()) {
        p.error(
            setting,
            format!(
                "burstable: {:?} is not included, excluded or required",
                req.burstable
            ),
        );
    }
}
