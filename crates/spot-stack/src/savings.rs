//! `savings`: what spot would have saved over a window of EC2 spot price
//! history, per instance type and zone, and for the tier as a whole.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_smithy_types::date_time::{DateTime, Format as DateFormat};
use mc_aws_common::cli::AwsArgs;
use mc_aws_common::output::{table, Format, Printer};
use serde::Serialize;

use crate::cli::SavingsArgs;
use crate::config::StackConfig;
use crate::ec2::{Ec2, SpotPrice};
use crate::error::Error;
use crate::prices::{OnDemandPrices, Source, TABLE_DATE, TABLE_REGION};
use crate::text::{fmt_num, price_str};

/// Spot prices of one type in one zone over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneStats {
    pub instance_type: String,
    pub zone: String,
    /// Time-weighted average, USD/hour.
    pub average: f64,
    pub min: f64,
    pub max: f64,
    /// Share of the covered time the price was at or below the max price (0..=1).
    pub available: f64,
    /// Time-weighted average while available.
    pub average_when_available: f64,
    /// Seconds of the window the history covers.
    pub covered_seconds: i64,
}

/// Time-weighted statistics per (type, zone). Each price holds from its
/// timestamp until the next one; the price in effect at `start` (the last
/// point before it, which EC2 returns) counts from `start`.
pub fn summarize(points: &[SpotPrice], start: i64, end: i64, max_price: f64) -> Vec<ZoneStats> {
    let mut by_key: BTreeMap<(&str, &str), Vec<&SpotPrice>> = BTreeMap::new();
    for p in points {
        by_key
            .entry((p.instance_type.as_str(), p.availability_zone.as_str()))
            .or_default()
            .push(p);
    }
    let mut out = Vec::new();
    for ((itype, zone), mut pts) in by_key {
        pts.sort_by_key(|p| p.timestamp);
        let (mut total, mut weighted, mut avail_secs, mut avail_weighted) = (0i64, 0.0, 0i64, 0.0);
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for (i, p) in pts.iter().enumerate() {
            let from = p.timestamp.max(start);
            let to = pts.get(i + 1).map_or(end, |n| n.timestamp.min(end));
            if to <= from {
                continue;
            }
            let secs = to - from;
            total += secs;
            weighted += p.price * secs as f64;
            min = min.min(p.price);
            max = max.max(p.price);
            if p.price <= max_price {
                avail_secs += secs;
                avail_weighted += p.price * secs as f64;
            }
        }
        if total == 0 {
            continue;
        }
        out.push(ZoneStats {
            instance_type: itype.to_string(),
            zone: zone.to_string(),
            average: weighted / total as f64,
            min,
            max,
            available: avail_secs as f64 / total as f64,
            average_when_available: if avail_secs > 0 {
                avail_weighted / avail_secs as f64
            } else {
                0.0
            },
            covered_seconds: total,
        });
    }
    out
}

/// Expected hourly cost of the tier relative to all on-demand: `on_demand_min`
/// instances always on demand, the rest on spot while it is available and
/// on demand (the fallback group) while it is not.
pub fn tier_saving(z: &ZoneStats, od_price: f64, on_demand_min: f64, average: f64) -> f64 {
    let rest = (average - on_demand_min).max(0.0);
    let spot_part = z.available * z.average_when_available + (1.0 - z.available) * od_price;
    let cost = on_demand_min.min(average) * od_price + rest * spot_part;
    (1.0 - cost / (average * od_price)) * 100.0
}

#[derive(Debug, Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    stats: &'a ZoneStats,
    on_demand_price: f64,
    on_demand_source: Source,
    max_price: f64,
    spot_saving_percent: f64,
    tier_saving_percent: f64,
}

/// One type and zone's statistics with the prices they are judged by.
struct Priced {
    stats: ZoneStats,
    on_demand_price: f64,
    source: Source,
    max_price: f64,
}

/// The window of spot price history read, and where.
struct Window {
    region: String,
    start: SystemTime,
    end: SystemTime,
    days: u32,
}

impl Window {
    fn secs(t: SystemTime) -> i64 {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    }

    /// `2025-06-01`.
    fn date(t: SystemTime) -> String {
        let text = DateTime::from(t)
            .fmt(DateFormat::DateTime)
            .unwrap_or_default();
        text.get(..10).unwrap_or(&text).to_string()
    }
}

pub async fn run(
    args: &AwsArgs,
    config: &StackConfig,
    prices: &OnDemandPrices,
    a: &SavingsArgs,
    format: Format,
    out: &mut Printer,
) -> Result<(), Error> {
    let types = &config.instances.instance_types;
    if types.is_empty() {
        return Err(Error::Invalid(
            "config: instances.instance_types is empty".into(),
        ));
    }
    let sdk = mc_aws_common::config::load(args, None, None).await?;
    let ec2 = Ec2::new(&sdk)?;
    let od = on_demand(types, prices, ec2.region())?;
    let end = SystemTime::now();
    let window = Window {
        region: ec2.region().to_string(),
        start: end - Duration::from_secs(u64::from(a.days) * 86_400),
        end,
        days: a.days,
    };
    let throttle = crate::stack::throttle();
    let points = ec2
        .spot_price_history(
            &throttle,
            types,
            a.zone.as_deref(),
            window.start,
            window.end,
        )
        .await?;
    let rows = rows(config, a, &od, &points, &window)?;
    let tier = tier_estimate(config, a, &rows);
    match format {
        Format::Json => print_json(config, a, &rows, tier, &window, out),
        Format::Human => print_human(config, a, &rows, tier, &window, out),
    }
}

/// Each type's on-demand price in the region, or the error that says how to
/// give it (before any spot price is read).
fn on_demand(
    types: &[String],
    prices: &OnDemandPrices,
    region: &str,
) -> Result<BTreeMap<String, (f64, Source)>, Error> {
    types
        .iter()
        .map(|t| {
            let price = prices
                .require_in(t, region)
                .map_err(|e| Error::Invalid(e.to_string()))?;
            Ok((t.clone(), price))
        })
        .collect()
}

/// Statistics per type and zone, each judged against its own on-demand
/// price as max price unless one is configured.
fn rows(
    config: &StackConfig,
    a: &SavingsArgs,
    od: &BTreeMap<String, (f64, Source)>,
    points: &[SpotPrice],
    window: &Window,
) -> Result<Vec<Priced>, Error> {
    let (start, end) = (Window::secs(window.start), Window::secs(window.end));
    let mut out = Vec::new();
    for (t, (od_price, src)) in od {
        let max = a.max_price.or(config.spot.max_price).unwrap_or(*od_price);
        let pts: Vec<SpotPrice> = points
            .iter()
            .filter(|p| &p.instance_type == t)
            .cloned()
            .collect();
        for stats in summarize(&pts, start, end, max) {
            out.push(Priced {
                stats,
                on_demand_price: *od_price,
                source: *src,
                max_price: max,
            });
        }
    }
    if out.is_empty() {
        return Err(Error::Aws(mc_aws_common::error::ToolError::NotFound {
            what: format!(
                "spot price history for {} over {} days",
                config.instances.instance_types.join(", "),
                a.days
            ),
            code: "no price points".into(),
        }));
    }
    // In the config's order of types, then by zone.
    let order = |t: &str| config.instances.instance_types.iter().position(|x| x == t);
    out.sort_by(|x, y| {
        let key = |p: &Priced| (order(&p.stats.instance_type), p.stats.zone.clone());
        key(x).cmp(&key(y))
    });
    Ok(out)
}

/// The tier runs the primary type across its zones: average over them.
fn tier_estimate(config: &StackConfig, a: &SavingsArgs, rows: &[Priced]) -> Option<f64> {
    let tier: Vec<f64> = rows
        .iter()
        .filter(|r| r.stats.instance_type == config.primary_type())
        .map(|r| row(config, a, r).tier_saving_percent)
        .collect();
    (!tier.is_empty()).then(|| tier.iter().sum::<f64>() / tier.len() as f64)
}

fn row<'a>(config: &StackConfig, a: &SavingsArgs, p: &'a Priced) -> Row<'a> {
    Row {
        stats: &p.stats,
        on_demand_price: p.on_demand_price,
        on_demand_source: p.source,
        max_price: p.max_price,
        spot_saving_percent: (1.0 - p.stats.average / p.on_demand_price) * 100.0,
        tier_saving_percent: tier_saving(
            &p.stats,
            p.on_demand_price,
            f64::from(config.on_demand.min),
            a.average_instances,
        ),
    }
}

/// Where the on-demand prices came from, for people.
fn price_source(rows: &[Priced]) -> String {
    let bundled = rows.iter().any(|r| r.source == Source::BundledTable);
    let given = rows.iter().any(|r| r.source == Source::Override);
    match (bundled, given) {
        (true, false) => format!("bundled table ({TABLE_REGION}, {TABLE_DATE}); override with --on-demand-price TYPE=PRICE or --on-demand-prices FILE"),
        (true, true) => format!("bundled table ({TABLE_REGION}, {TABLE_DATE}) and the given prices"),
        _ => "the given prices (--on-demand-price, --on-demand-prices)".to_string(),
    }
}

fn print_json(
    config: &StackConfig,
    a: &SavingsArgs,
    rows: &[Priced],
    tier: Option<f64>,
    window: &Window,
    out: &mut Printer,
) -> Result<(), Error> {
    for r in rows {
        out.json(&row(config, a, r))?;
    }
    out.json(&serde_json::json!({
        "instance_type": config.primary_type(),
        "days": a.days,
        "region": window.region,
        "from": Window::date(window.start),
        "to": Window::date(window.end),
        "average_instances": a.average_instances,
        "on_demand_min": config.on_demand.min,
        "saving_percent": tier,
        "on_demand_table": format!("{TABLE_REGION} {TABLE_DATE}"),
    }))?;
    Ok(())
}

fn print_human(
    config: &StackConfig,
    a: &SavingsArgs,
    rows: &[Priced],
    tier: Option<f64>,
    window: &Window,
    out: &mut Printer,
) -> Result<(), Error> {
    out.line(format!(
        "spot price history, {}, {} to {} ({} days; USD/hour, Linux/UNIX)",
        window.region,
        Window::date(window.start),
        Window::date(window.end),
        window.days
    ))?;
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let row = row(config, a, r);
            vec![
                row.stats.instance_type.clone(),
                row.stats.zone.clone(),
                price_str(row.stats.average),
                price_str(row.stats.min),
                price_str(row.stats.max),
                price_str(row.on_demand_price),
                format!("{:.1}%", row.stats.available * 100.0),
                format!("{:.1}%", row.spot_saving_percent),
            ]
        })
        .collect();
    let header = [
        "type",
        "zone",
        "avg spot",
        "min",
        "max",
        "on-demand",
        "available",
        "spot saving",
    ];
    out.line(table(&header, &body).trim_end())?;
    if let Some(s) = tier {
        out.line(format!(
            "expected tier saving: {:.1}% against all on-demand ({} at {} instances on average, {} always on-demand, spot above its max price counted as on-demand)",
            s,
            config.primary_type(),
            fmt_num(a.average_instances),
            config.on_demand.min
        ))?;
    }
    out.line(format!("on-demand prices: {}", price_source(rows)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ts: i64, price: f64, zone: &str) -> SpotPrice {
        SpotPrice {
            instance_type: "c5.large".into(),
            availability_zone: zone.into(),
            product_description: "Linux/UNIX".into(),
            price,
            timestamp: ts,
        }
    }

    #[test]
    fn time_weighted_with_the_price_in_effect_at_start() {
        // 0.02 from before the window, 0.2 for the last quarter.
        let pts = vec![p(-50, 0.02, "a"), p(300, 0.2, "a")];
        let s = summarize(&pts, 0, 400, 0.1);
        assert_eq!(s.len(), 1);
        let z = &s[0];
        assert!((z.average - (0.02 * 300.0 + 0.2 * 100.0) / 400.0).abs() < 1e-12);
        assert!((z.available - 0.75).abs() < 1e-12);
        assert!((z.average_when_available - 0.02).abs() < 1e-12);
        assert_eq!(z.covered_seconds, 400);
    }

    #[test]
    fn zones_are_separate_and_points_after_the_window_ignored() {
        let pts = vec![p(0, 0.03, "b"), p(0, 0.02, "a"), p(1000, 9.0, "a")];
        let s = summarize(&pts, 0, 100, 0.1);
        assert_eq!(
            s.iter().map(|z| z.zone.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(s[0].max, 0.02);
    }

    #[test]
    fn tier_saving_matches_the_write_up() {
        // $0.12 on demand, $0.02 spot, always available, 1 of 6 on demand.
        let z = ZoneStats {
            instance_type: "c3.large".into(),
            zone: "a".into(),
            average: 0.02,
            min: 0.02,
            max: 0.02,
            available: 1.0,
            average_when_available: 0.02,
            covered_seconds: 1,
        };
        let s = tier_saving(&z, 0.12, 1.0, 6.0);
        assert!((s - (1.0 - (0.12 + 5.0 * 0.02) / 0.72) * 100.0).abs() < 1e-9);
        // Never available: no saving.
        let never = ZoneStats {
            available: 0.0,
            ..z
        };
        assert!(tier_saving(&never, 0.12, 1.0, 6.0).abs() < 1e-9);
    }
}
