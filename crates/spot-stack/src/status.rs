//! `status`: the stack's groups (desired / in service / pending by market),
//! the current spot price against the max price, and recent scaling.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_autoscaling::types::LifecycleState;
use aws_smithy_types::date_time::Format as DateFormat;
use mc_aws_common::cli::AwsArgs;
use mc_aws_common::error::describe_sdk_error;
use mc_aws_common::output::{table, Format, Printer};
use mc_aws_common::retry::Throttle;
use serde::Serialize;

use crate::cli::StatusArgs;
use crate::config::StackConfig;
use crate::ec2::Ec2;
use crate::error::Error;
use crate::prices::OnDemandPrices;
use crate::template::ids;
use crate::text::{fmt_num, price_str};

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

/// The clients one status run uses.
struct Clients {
    cfn: aws_sdk_cloudformation::Client,
    asg: aws_sdk_autoscaling::Client,
    throttle: Arc<Throttle>,
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
    let c = Clients {
        cfn: aws_sdk_cloudformation::Client::new(&sdk),
        asg: aws_sdk_autoscaling::Client::new(&sdk),
        throttle: crate::stack::throttle(),
    };
    let name = a.stack_name.as_str();
    let stack_status = stack_status(&c, name).await?;
    let groups = groups(&c, name, a.activities).await?;
    let (spot, spot_price_error) = spot_report(&sdk, &c.throttle, config, prices).await;
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

async fn stack_status(c: &Clients, name: &str) -> Result<String, Error> {
    let stack = c
        .throttle
        .call(|| c.cfn.describe_stacks().stack_name(name).send())
        .await
        .map_err(|e| describe_sdk_error(&e, &format!("stack {name}")))?;
    Ok(stack
        .stacks()
        .first()
        .and_then(|s| s.stack_status())
        .map(|s| s.as_str().to_string())
        .unwrap_or_default())
}

/// Which market a group of the stack serves, by its logical id.
fn market_of(logical_id: &str) -> Option<&'static str> {
    match logical_id {
        ids::ON_DEMAND_GROUP => Some("on-demand"),
        ids::SPOT_GROUP => Some("spot"),
        ids::MIXED_GROUP => Some("mixed"),
        ids::FALLBACK_GROUP => Some("fallback"),
        _ => None,
    }
}

/// The stack's auto scaling groups, spot first.
async fn groups(c: &Clients, name: &str, activities: i32) -> Result<Vec<GroupStatus>, Error> {
    let resources = c
        .throttle
        .call(|| c.cfn.describe_stack_resources().stack_name(name).send())
        .await
        .map_err(|e| describe_sdk_error(&e, &format!("stack {name}")))?;
    let mut groups = Vec::new();
    for r in resources.stack_resources() {
        let logical = r.logical_resource_id().unwrap_or_default();
        let (Some(market), Some(physical)) = (
            market_of(logical),
            r.physical_resource_id().filter(|p| !p.is_empty()),
        ) else {
            continue;
        };
        if let Some(g) = group_status(c, (logical, market), physical, activities).await? {
            groups.push(g);
        }
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
    Ok(groups)
}

/// One group: sizes, instances by lifecycle state, recent activities.
async fn group_status(
    c: &Clients,
    (logical, market): (&str, &'static str),
    physical: &str,
    activities: i32,
) -> Result<Option<GroupStatus>, Error> {
    let described = c
        .throttle
        .call(|| {
            c.asg
                .describe_auto_scaling_groups()
                .auto_scaling_group_names(physical)
                .send()
        })
        .await
        .map_err(|e| describe_sdk_error(&e, &format!("auto scaling group {physical}")))?;
    let Some(g) = described.auto_scaling_groups().first() else {
        return Ok(None);
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
    Ok(Some(GroupStatus {
        logical_id: logical.to_string(),
        name: physical.to_string(),
        market,
        min: g.min_size().unwrap_or_default(),
        max: g.max_size().unwrap_or_default(),
        desired: g.desired_capacity().unwrap_or_default(),
        in_service,
        pending,
        other,
        activities: recent_activities(c, physical, activities).await,
    }))
}

/// The last `n` scaling activities; a failure to read them is logged, not
/// raised (the sizes matter more).
async fn recent_activities(c: &Clients, physical: &str, n: i32) -> Vec<Activity> {
    let acts = c
        .throttle
        .call(|| {
            c.asg
                .describe_scaling_activities()
                .auto_scaling_group_name(physical)
                .max_records(n.clamp(1, 100))
                .send()
        })
        .await;
    match acts {
        Ok(acts) => acts
            .activities()
            .iter()
            .take(n.max(0) as usize)
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
    }
}

/// The current spot price against the max price: a price problem must not
/// hide the groups, so it is reported, not raised.
async fn spot_report(
    sdk: &aws_config::SdkConfig,
    throttle: &Throttle,
    config: &StackConfig,
    prices: &OnDemandPrices,
) -> (Option<SpotNow>, Option<String>) {
    let itype = config.primary_type().to_string();
    // The on-demand price of the stack's region, when known there.
    let region = sdk
        .region()
        .map(|r| r.as_ref().to_string())
        .unwrap_or_default();
    let od = prices.get_in(&itype, &region).map(|(p, _)| p);
    let max_price = config.spot.max_price.or(od);
    let zones = match spot_now(sdk, throttle, &itype).await {
        Ok(zones) => zones,
        Err(e) => return (None, Some(e.to_string())),
    };
    let above_max = match max_price {
        Some(m) => zones
            .iter()
            .filter(|(_, p)| **p > m)
            .map(|(z, _)| z.clone())
            .collect(),
        None => Vec::new(),
    };
    let spot = SpotNow {
        instance_type: itype,
        zones,
        max_price: max_price.unwrap_or(f64::NAN),
        max_price_is_on_demand: config.spot.max_price.is_none(),
        above_max,
    };
    (Some(spot), None)
}

async fn spot_now(
    sdk: &aws_config::SdkConfig,
    throttle: &Throttle,
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
    out.line(groups_table(&s.groups).trim_end())?;
    match (&s.spot, &s.spot_price_error) {
        (Some(spot), _) => out.line(spot_line(spot))?,
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

fn groups_table(groups: &[GroupStatus]) -> String {
    let rows: Vec<Vec<String>> = groups
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
    let header = [
        "market",
        "group",
        "desired",
        "in service",
        "pending",
        "min-max",
    ];
    table(&header, &rows)
}

/// The price range across zones against the max price.
fn spot_line(spot: &SpotNow) -> String {
    if spot.zones.is_empty() {
        return format!("spot price {}: no recent history", spot.instance_type);
    }
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
    format!(
        "spot price {}: ${}-${}/h across {} zones; max price {max}: {verdict}",
        spot.instance_type,
        price_str(lo),
        price_str(hi),
        spot.zones.len()
    )
}
