//! `status`: the stack's groups (desired / in service / pending by market),
//! the current spot price against the max price, and recent scaling.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_autoscaling::types::LifecycleState;
use aws_smithy_types::date_time::Format as DateFormat;
use mc_aws_common::cli::AwsArgs;
use mc_aws_common::error::describe_sdk_error;
use mc_aws_common::output::{table, Format, Printer};
use serde::Serialize;

use crate::cli::StatusArgs;
use crate::config::StackConfig;
use crate::ec2::Ec2;
use crate::prices::OnDemandPrices;
use crate::template::{ids, price_str};
use crate::{fmt_num, Error};

#[derive(Debug, Serialize)]
struct GroupStatus {
    logical_id: String,
    name: String,
    market: &'static str,
    min: i32,
    max: i32,
    desired: i32,
    in_service: usize,
    pending: usize,
    other: usize,
    activities: Vec<Activity>,
}

#[derive(Debug, Serialize)]
struct Activity {
    time: String,
    status: String,
    description: String,
}

#[derive(Debug, Serialize)]
struct SpotNow {
    instance_type: String,
    /// Latest price per zone.
    zones: BTreeMap<String, f64>,
    max_price: f64,
    max_price_is_on_demand: bool,
    above_max: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Status {
    stack: String,
    stack_status: String,
    groups: Vec<GroupStatus>,
    spot: Option<SpotNow>,
    spot_price_error: Option<String>,
}

pub async fn run(
    args: &AwsArgs,
    config: &StackConfig,
    prices: &OnDemandPrices,
    a: &StatusArgs,
    format: Format,
    out: &mut Printer,
) -> Result<(), Error> {
    let sdk = mc_aws_common::config::load(args, None, None).await?;
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    let asg = aws_sdk_autoscaling::Client::new(&sdk);
    let throttle = crate::stack::throttle();
    let name = a.stack_name.as_str();
    let what = format!("stack {name}");

    let stack = throttle
        .call(|| cfn.describe_stacks().stack_name(name).send())
        .await
        .map_err(|e| describe_sdk_error(&e, &what))?;
    let stack_status = stack
        .stacks()
        .first()
        .and_then(|s| s.stack_status())
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let resources = throttle
        .call(|| cfn.describe_stack_resources().stack_name(name).send())
        .await
        .map_err(|e| describe_sdk_error(&e, &what))?;
    let mut groups = Vec::new();
    for r in resources.stack_resources() {
        let logical = r.logical_resource_id().unwrap_or_default();
        let market = match logical {
            ids::ON_DEMAND_GROUP => "on-demand",
            ids::SPOT_GROUP => "spot",
            ids::MIXED_GROUP => "mixed",
            _ => continue,
        };
        let Some(physical) = r.physical_resource_id().filter(|p| !p.is_empty()) else {
            continue;
        };
        let described = throttle
            .call(|| {
                asg.describe_auto_scaling_groups()
                    .auto_scaling_group_names(physical)
                    .send()
            })
            .await
            .map_err(|e| describe_sdk_error(&e, &format!("auto scaling group {physical}")))?;
        let Some(g) = described.auto_scaling_groups().first() else {
            continue;
        };
        let (mut in_service, mut pending, mut other) = (0, 0, 0);
        for i in g.instances() {
            match i.lifecycle_state() {
                Some(LifecycleState::InService) => in_service += 1,
                Some(
                    LifecycleState::Pending
                    | LifecycleState::PendingWait
                    | LifecycleState::PendingProceed,
                ) => pending += 1,
                _ => other += 1,
            }
        }
        let acts = throttle
            .call(|| {
                asg.describe_scaling_activities()
                    .auto_scaling_group_name(physical)
                    .max_records(a.activities.clamp(1, 100))
                    .send()
            })
            .await;
        let activities = match acts {
            Ok(acts) => acts
                .activities()
                .iter()
                .take(a.activities.max(0) as usize)
                .map(|x| Activity {
                    time: x
                        .start_time()
                        .and_then(|t| t.fmt(DateFormat::DateTime).ok())
                        .unwrap_or_default(),
                    status: x
                        .status_code()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    description: x.description().unwrap_or_default().to_string(),
                })
                .collect(),
            Err(e) => {
                tracing::warn!(
                    "scaling activities of {physical}: {}",
                    describe_sdk_error(&e, physical)
                );
                Vec::new()
            }
        };
        groups.push(GroupStatus {
            logical_id: logical.to_string(),
            name: physical.to_string(),
            market,
            min: g.min_size().unwrap_or_default(),
            max: g.max_size().unwrap_or_default(),
            desired: g.desired_capacity().unwrap_or_default(),
            in_service,
            pending,
            other,
            activities,
        });
    }
    if groups.is_empty() {
        return Err(Error::Invalid(format!(
            "stack {name} has no spot-stack groups ({}, {} or {})",
            ids::ON_DEMAND_GROUP,
            ids::SPOT_GROUP,
            ids::MIXED_GROUP
        )));
    }
    groups.sort_by_key(|g| g.market != "spot");

    // Current spot price against the max price: a price problem must not
    // hide the groups, so it is reported, not raised.
    let itype = config.primary_type().to_string();
    let od = prices.get(&itype).map(|(p, _)| p);
    let max_price = config.spot.max_price.or(od);
    let (spot, spot_price_error) = match spot_now(&sdk, &throttle, &itype).await {
        Ok(zones) => {
            let above = match max_price {
                Some(m) => zones
                    .iter()
                    .filter(|(_, p)| **p > m)
                    .map(|(z, _)| z.clone())
                    .collect(),
                None => Vec::new(),
            };
            (
                Some(SpotNow {
                    instance_type: itype.clone(),
                    zones,
                    max_price: max_price.unwrap_or(f64::NAN),
                    max_price_is_on_demand: config.spot.max_price.is_none(),
                    above_max: above,
                }),
                None,
            )
        }
        Err(e) => (None, Some(e.to_string())),
    };
    let status = Status {
        stack: name.to_string(),
        stack_status,
        groups,
        spot,
        spot_price_error,
    };
    match format {
        Format::Json => out.json(&status)?,
        Format::Human => print_human(&status, out)?,
    }
    Ok(())
}

async fn spot_now(
    sdk: &aws_config::SdkConfig,
    throttle: &mc_aws_common::retry::Throttle,
    itype: &str,
) -> Result<BTreeMap<String, f64>, Error> {
    let ec2 = Ec2::new(sdk)?;
    let end = SystemTime::now();
    let start = end - Duration::from_secs(3 * 3600);
    let points = ec2
        .spot_price_history(throttle, &[itype.to_string()], None, start, end)
        .await?;
    let mut latest: BTreeMap<String, (i64, f64)> = BTreeMap::new();
    for p in points {
        let e = latest.entry(p.availability_zone).or_insert((i64::MIN, 0.0));
        if p.timestamp >= e.0 {
            *e = (p.timestamp, p.price);
        }
    }
    Ok(latest.into_iter().map(|(z, (_, p))| (z, p)).collect())
}

fn print_human(s: &Status, out: &mut Printer) -> Result<(), Error> {
    out.line(format!("stack {}: {}", s.stack, s.stack_status))?;
    let rows: Vec<Vec<String>> = s
        .groups
        .iter()
        .map(|g| {
            vec![
                g.market.to_string(),
                g.name.clone(),
                g.desired.to_string(),
                g.in_service.to_string(),
                g.pending.to_string(),
                format!("{}-{}", g.min, g.max),
            ]
        })
        .collect();
    out.line(
        table(
            &[
                "market",
                "group",
                "desired",
                "in service",
                "pending",
                "min-max",
            ],
            &rows,
        )
        .trim_end(),
    )?;
    match (&s.spot, &s.spot_price_error) {
        (Some(spot), _) if !spot.zones.is_empty() => {
            let lo = spot.zones.values().copied().fold(f64::INFINITY, f64::min);
            let hi = spot
                .zones
                .values()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            let max = if spot.max_price.is_nan() {
                "unset (on-demand price, not in the table)".to_string()
            } else if spot.max_price_is_on_demand {
                format!("${} (on-demand)", fmt_num(spot.max_price))
            } else {
                format!("${}", fmt_num(spot.max_price))
            };
            let verdict = if spot.above_max.is_empty() {
                "ok".to_string()
            } else {
                format!("ABOVE max price in {}", spot.above_max.join(", "))
            };
            out.line(format!(
                "spot price {}: ${}-${}/h across {} zones; max price {max}: {verdict}",
                spot.instance_type,
                price_str(lo),
                price_str(hi),
                spot.zones.len()
            ))?;
        }
        (Some(spot), _) => out.line(format!(
            "spot price {}: no recent history",
            spot.instance_type
        ))?,
        (None, Some(e)) => out.line(format!("spot price: unavailable ({e})"))?,
        (None, None) => {}
    }
    for g in &s.groups {
        if g.activities.is_empty() {
            continue;
        }
        out.line(format!("recent scaling, {}:", g.market))?;
        for x in &g.activities {
            out.line(format!("  {}  {:<12}  {}", x.time, x.status, x.description))?;
        }
    }
    Ok(())
}
