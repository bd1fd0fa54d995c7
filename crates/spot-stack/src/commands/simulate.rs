//! `simulate`: the capacity model (four strategies side by side) or the
//! bidding replay, each with its report and chart.

use std::path::Path;

use mc_aws_common::output::{table, Format, Printer};

use super::{on_demand_prices, refuse_errors, warn};
use crate::cli::{Model, SimulateArgs};
use crate::config::StackConfig;
use crate::error::Error;
use crate::fleet::{self, Kind, Settings};
use crate::market::{self, InstanceType, Market, MarketSpec, Shortage};
use crate::prices::{OnDemandPrices, Source, TABLE_DATE, TABLE_REGION};
use crate::replay::{self, Params};
use crate::series::Series;
use crate::template::{Shape, Strategy};
use crate::text::{duration, fmt_num};
use crate::{comparison_svg, svg, validate};

const SAMPLE_DEMAND: &str = include_str!("../../data/demand-day.csv");
const SAMPLE_SPOT: &str = include_str!("../../data/spot-price-day.csv");
const SAMPLE_EVENTS: &str = include_str!("../../data/capacity-events-day.csv");

pub(super) fn run(
    config: &StackConfig,
    a: &SimulateArgs,
    format: Format,
    out: &mut Printer,
) -> Result<(), Error> {
    let demand = read_series(a.demand.as_deref(), SAMPLE_DEMAND, "demand")?;
    let prices = on_demand_prices(&a.prices(config.primary_type()))?;
    offline_checks(config, a.max_price, &prices)?;
    match a.model() {
        Model::Capacity if a.spot_prices.is_some() => Err(Error::Invalid(
            "--spot-prices replays a price history: it goes with --model bidding".into(),
        )),
        Model::Capacity => capacity(config, a, &prices, &demand, format, out),
        Model::Bidding => bidding(config, a, &prices, &demand, format, out),
    }
}

fn read_text(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::local_file(path, e))
}

fn read_series(path: Option<&Path>, sample: &str, what: &str) -> Result<Series, Error> {
    let parsed = match path {
        None => Series::from_csv(sample, &format!("shipped sample {what}")),
        Some(p) => Series::from_csv(&read_text(p)?, &p.display().to_string()),
    };
    parsed.map_err(|e| Error::Invalid(e.to_string()))
}

/// The checks that matter offline (`instances.*` settings only matter to a
/// deployed stack): errors stop, warnings go to stderr.
fn offline_checks(
    config: &StackConfig,
    max_price: Option<f64>,
    prices: &OnDemandPrices,
) -> Result<(), Error> {
    let mut shape = Shape::of(config, Strategy::TwoGroups);
    shape.max_price = max_price;
    let od = prices.get(config.primary_type()).map(|(p, _)| p);
    let offline: Vec<_> = validate::check(config, shape, od)
        .into_iter()
        .filter(|p| !p.setting.starts_with("instances."))
        .collect();
    refuse_errors(&offline)?;
    warn(offline.iter());
    Ok(())
}

/// Each configured type with its band, weight and on-demand price.
fn instance_types(
    config: &StackConfig,
    prices: &OnDemandPrices,
) -> Result<Vec<InstanceType>, Error> {
    config
        .instances
        .instance_types
        .iter()
        .map(|name| {
            let price = prices
                .require(name)
                .map_err(|e| Error::Invalid(e.to_string()))?;
            Ok(InstanceType {
                name: name.clone(),
                band: config.simulate.band(name),
                weight: config.instances.weight(name),
                on_demand_price: price,
            })
        })
        .collect()
}

/// Where the capacity events come from, for the report.
fn shortages(
    a: &SimulateArgs,
    types: &[InstanceType],
    zones: usize,
    seed: u64,
    minutes: u32,
) -> Result<(Vec<Shortage>, String), Error> {
    if let Some(n) = a.random_events {
        let events = market::random_shortages(types, zones, n, seed, minutes);
        return Ok((events, format!("{n} random shortages")));
    }
    let (text, what) = match &a.events {
        Some(p) => (read_text(p)?, p.display().to_string()),
        None => (
            SAMPLE_EVENTS.to_string(),
            "the shipped sample day".to_string(),
        ),
    };
    let events =
        market::read_shortages(&text, &what, zones).map_err(|e| Error::Invalid(e.to_string()))?;
    let n = events.len();
    Ok((events, format!("{n} shortage{} from {what}", plural(n))))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn capacity(
    config: &StackConfig,
    a: &SimulateArgs,
    prices: &OnDemandPrices,
    demand: &Series,
    format: Format,
    out: &mut Printer,
) -> Result<(), Error> {
    let types = instance_types(config, prices)?;
    let zones = config.instances.subnets.len().max(1);
    let seed = a.seed.unwrap_or(config.simulate.seed);
    let minutes = demand.len_minutes();
    let (shortages, events) = shortages(a, &types, zones, seed, minutes)?;
    let market = Market::new(MarketSpec {
        types,
        zones,
        shortages,
        seed,
        interruptions: true,
        spot_price_ratio: config.simulate.spot_price_ratio,
        max_price: a.max_price.or(config.spot.max_price),
        minutes,
    });
    let boot = a.boot_seconds.unwrap_or(config.instances.boot_seconds);
    let settings = Settings::from_config(config, boot);
    let reports: Vec<fleet::Report> = Kind::ALL
        .iter()
        .map(|k| fleet::run(*k, &settings, &market, demand))
        .collect();
    let about = About {
        minutes,
        market: &market,
        events,
        seed,
        prices: price_note(config, prices),
        max_price: a.max_price.or(config.spot.max_price),
        boot,
    };
    if let Some(path) = &a.svg {
        let title =
            "spot-stack simulate: four strategies, the same demand and spot capacity events";
        let chart = comparison_svg::chart(&reports, &market.shortages, title, &about.headline());
        std::fs::write(path, chart).map_err(|e| Error::local_file(path, e))?;
    }
    match format {
        Format::Json => reports.iter().try_for_each(|r| out.json(r))?,
        Format::Human => print_capacity(&about, &reports, a, out)?,
    }
    Ok(())
}

/// What a capacity run was made of, for its report.
struct About<'a> {
    minutes: u32,
    market: &'a Market,
    events: String,
    seed: u64,
    prices: String,
    max_price: Option<f64>,
    boot: u32,
}

impl About<'_> {
    fn headline(&self) -> String {
        let m = self.market;
        format!(
            "{} of demand, {} type{} in {} zone{}, {}, seed {}",
            duration(self.minutes),
            m.types.len(),
            plural(m.types.len()),
            m.zones,
            plural(m.zones),
            self.events,
            self.seed
        )
    }
}

fn price_note(config: &StackConfig, prices: &OnDemandPrices) -> String {
    let bundled = config.instances.instance_types.iter().any(|t| {
        prices
            .get(t)
            .is_some_and(|(_, s)| s == Source::BundledTable)
    });
    let table = if bundled {
        format!("bundled table ({TABLE_REGION}, {TABLE_DATE})")
    } else {
        "given".to_string()
    };
    format!(
        "on-demand prices: {table}; spot around {}% of on-demand",
        fmt_num(config.simulate.spot_price_ratio * 100.0)
    )
}

fn print_capacity(
    about: &About<'_>,
    reports: &[fleet::Report],
    a: &SimulateArgs,
    out: &mut Printer,
) -> Result<(), Error> {
    out.line(format!("simulated {}", about.headline()))?;
    let bands: Vec<String> = about
        .market
        .types
        .iter()
        .map(|t| format!("{} {}", t.name, t.band))
        .collect();
    out.line(format!("interruption bands: {}", bands.join(", ")))?;
    let max = about.max_price.map_or("no max price".to_string(), |p| {
        format!("max price ${}/h", fmt_num(p))
    });
    out.line(format!("{}; {max}; boot {} s", about.prices, about.boot))?;
    out.line("")?;
    let mut header = vec![""];
    header.extend(reports.iter().map(|r| r.strategy.key()));
    out.line(table(&header, &comparison_rows(reports)).trim_end())?;
    if a.hourly {
        for r in reports {
            out.line("")?;
            out.line(format!("hourly, {}:", r.label))?;
            out.line(capacity_hours(r).trim_end())?;
        }
    }
    if let Some(p) = &a.svg {
        out.line(format!("chart written to {}", p.display()))?;
    }
    Ok(())
}

fn comparison_rows(reports: &[fleet::Report]) -> Vec<Vec<String>> {
    type Cell = fn(&fleet::Report) -> String;
    let rows: [(&str, Cell); 11] = [
        ("cost", |r| format!("${:.2}", r.cost)),
        ("all on-demand", |r| format!("${:.2}", r.all_on_demand_cost)),
        ("saving", |r| format!("{:.1}%", r.saving_percent)),
        ("shortfall (instance-minutes)", |r| {
            format!("{:.1}", r.shortfall_instance_minutes)
        }),
        ("worst gap (minutes)", |r| r.worst_gap_minutes.to_string()),
        ("minutes short", |r| r.short_minutes.to_string()),
        ("spot interruptions", |r| r.interruptions.to_string()),
        ("on-demand instance-hours", |r| {
            format!("{:.1}", r.on_demand_instance_hours)
        }),
        ("fallback instance-hours", |r| {
            format!("{:.1}", r.fallback_instance_hours)
        }),
        ("spot instance-hours", |r| {
            format!("{:.1}", r.spot_instance_hours)
        }),
        ("peak instances", |r| r.peak_instances.to_string()),
    ];
    rows.iter()
        .map(|(name, cell)| {
            let mut row = vec![name.to_string()];
            row.extend(reports.iter().map(cell));
            row
        })
        .collect()
}

fn capacity_hours(r: &fleet::Report) -> String {
    let rows: Vec<Vec<String>> = r
        .hours
        .iter()
        .map(|h| {
            vec![
                format!("{:02}", h.hour),
                format!("{:.2}", h.demand),
                format!("{:.1}", h.on_demand),
                format!("{:.1}", h.fallback),
                format!("{:.1}", h.spot),
                format!("{:.3}", h.cost),
                h.short_minutes.to_string(),
            ]
        })
        .collect();
    let header = [
        "hour",
        "demand",
        "on-demand",
        "fallback",
        "spot",
        "$",
        "short min",
    ];
    table(&header, &rows)
}

/// The bidding replay, as `simulate` was before capacity came first.
fn bidding(
    config: &StackConfig,
    a: &SimulateArgs,
    prices: &OnDemandPrices,
    demand: &Series,
    format: Format,
    out: &mut Printer,
) -> Result<(), Error> {
    let spot = read_series(a.spot_prices.as_deref(), SAMPLE_SPOT, "spot prices")?;
    let on_demand_price = prices
        .require(config.primary_type())
        .map_err(|e| Error::Invalid(format!("{e} (or --on-demand-price PRICE)")))?;
    let params = Params {
        on_demand: config.on_demand,
        spot: config.spot.group,
        boot_seconds: a.boot_seconds.unwrap_or(config.instances.boot_seconds),
        on_demand_price,
        max_price: a
            .max_price
            .or(config.spot.max_price)
            .unwrap_or(on_demand_price),
    };
    let report = replay::run(&params, demand, &spot);
    if let Some(path) = &a.svg {
        let title = format!(
            "spot-stack simulate: {} h, {} at ${}/h on demand, max price ${}",
            fmt_num(f64::from(report.minutes) / 60.0),
            config.primary_type(),
            fmt_num(params.on_demand_price),
            fmt_num(params.max_price)
        );
        std::fs::write(path, svg::chart(&report, &title))
            .map_err(|e| Error::local_file(path, e))?;
    }
    match format {
        Format::Json => out.json(&report)?,
        Format::Human => print_bidding(config, a, &params, &report, out)?,
    }
    Ok(())
}

fn print_bidding(
    config: &StackConfig,
    a: &SimulateArgs,
    params: &Params,
    report: &replay::Report,
    out: &mut Printer,
) -> Result<(), Error> {
    out.line(format!(
        "simulated {} of demand; {} at ${}/h on demand, spot max ${}/h, boot {} s",
        duration(report.minutes),
        config.primary_type(),
        fmt_num(params.on_demand_price),
        fmt_num(params.max_price),
        params.boot_seconds
    ))?;
    out.line(table(&["", "value"], &bidding_rows(report)).trim_end())?;
    if a.hourly {
        out.line("")?;
        out.line(bidding_hours(report).trim_end())?;
    }
    if let Some(p) = &a.svg {
        out.line(format!("chart written to {}", p.display()))?;
    }
    Ok(())
}

fn bidding_rows(r: &replay::Report) -> Vec<Vec<String>> {
    let row = |k: &str, v: String| vec![k.to_string(), v];
    vec![
        row("cost", format!("${:.2}", r.cost)),
        row("all on-demand", format!("${:.2}", r.all_on_demand_cost)),
        row("saving", format!("{:.1}%", r.saving_percent)),
        row(
            "on-demand instance-hours",
            format!("{:.1}", r.on_demand_instance_hours),
        ),
        row(
            "spot instance-hours",
            format!("{:.1}", r.spot_instance_hours),
        ),
        row(
            "demand (instance-hours at 100% CPU)",
            format!("{:.1}", r.demand_instance_hours),
        ),
        row("minutes short of capacity", r.short_minutes.to_string()),
        row(
            "spot reclaims (instances)",
            format!("{} ({})", r.reclaim_events, r.spot_instances_reclaimed),
        ),
        row(
            "scale-ups on-demand / spot",
            format!("{} / {}", r.on_demand_scale_ups, r.spot_scale_ups),
        ),
        row(
            "scale-downs on-demand / spot",
            format!("{} / {}", r.on_demand_scale_downs, r.spot_scale_downs),
        ),
        row("peak instances", r.peak_instances.to_string()),
    ]
}

fn bidding_hours(r: &replay::Report) -> String {
    let rows: Vec<Vec<String>> = r
        .hours
        .iter()
        .map(|h| {
            vec![
                format!("{:02}", h.hour),
                format!("{:.2}", h.demand),
                format!("{:.1}", h.on_demand_instances),
                format!("{:.1}", h.spot_instances),
                format!("{:.3}", h.on_demand_cost),
                format!("{:.3}", h.spot_cost),
                h.short_minutes.to_string(),
            ]
        })
        .collect();
    table(
        &[
            "hour",
            "demand",
            "on-demand",
            "spot",
            "od $",
            "spot $",
            "short min",
        ],
        &rows,
    )
}
