//! Simulator properties.

use proptest::prelude::*;
use spot_stack::config::StackConfig;
use spot_stack::simulate::{run, Params, Series};

const OD: f64 = 0.12;

fn params() -> Params {
    let c = StackConfig::default();
    Params {
        on_demand: c.on_demand,
        spot: c.spot.group,
        boot_seconds: 75,
        on_demand_price: OD,
        max_price: OD,
    }
}

/// Slowly varying demand: a random walk of at most 0.01 instance-equivalents
/// per minute (0.6 per hour) between 0.2 and 8, as a tier's CPU moves,
/// starting where the two minimum instances carry it.
fn demand() -> impl Strategy<Value = Series> {
    (
        0.2f64..0.9,
        proptest::collection::vec(-1.0f64..1.0, 60..180),
    )
        .prop_map(|(start, steps)| {
            let mut d = start;
            let mut points = Vec::new();
            for (i, s) in steps.iter().enumerate() {
                // Each step holds for 10 minutes, moving at most 0.1.
                for k in 0..10 {
                    d = (d + s * 0.01).clamp(0.2, 8.0);
                    points.push(((i * 10 + k) as u32, d));
                }
            }
            Series::new(points).unwrap()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Spot never available: the tier is all on-demand, costs exactly what
    /// all on-demand costs, and a capacity shortfall never outlasts the
    /// fallback's reaction: one alarm window plus boot time, after the
    /// cooldown of a scale-in that caused it. (With the write-up's numbers a
    /// scale-in can itself cause one: 65% of 2 instances is 130% of 1, and
    /// simple scaling's 15-minute scale-in cooldown holds scale-ups back too.)
    #[test]
    fn spot_above_max_price_is_all_on_demand(d in demand(), price in 0.1201f64..5.0) {
        let p = params();
        let r = run(&p, &d, &Series::constant(price));
        prop_assert_eq!(r.spot_instance_hours, 0.0);
        prop_assert!((r.cost - r.all_on_demand_cost).abs() < 1e-9);
        prop_assert!(r.saving_percent.abs() < 1e-9);
        let reaction = p.on_demand.scale_down.cooldown / 60
            + p.on_demand.period / 60 * p.on_demand.evaluation_periods
            + p.boot_seconds.div_ceil(60);
        prop_assert!(
            r.longest_short_streak <= reaction,
            "short for {} minutes in a row (reaction {reaction})", r.longest_short_streak
        );
    }

    /// Spot always cheap: on-demand stays at its minimum, and the rest of
    /// the bill is the spot price times spot capacity, which tracks demand
    /// (between demand and demand over the spot scale-down threshold).
    #[test]
    fn cheap_spot_costs_spot_price_times_demand(d in demand(), price in 0.005f64..0.03) {
        let p = params();
        let r = run(&p, &d, &Series::constant(price));
        let hours = f64::from(r.minutes) / 60.0;
        prop_assert!((r.on_demand_instance_hours - f64::from(p.on_demand.min) * hours).abs() < 1e-9);
        prop_assert_eq!(r.short_minutes, 0);
        let spot_cost = r.cost - OD * r.on_demand_instance_hours;
        prop_assert!((spot_cost - price * r.spot_instance_hours).abs() < 1e-9);
        // Spot capacity covers demand not carried by the on-demand base...
        let spot_demand = (r.demand_instance_hours - r.on_demand_instance_hours).max(0.0);
        prop_assert!(r.spot_instance_hours + 1e-9 >= spot_demand);
        // ...without running much emptier than the scale-down threshold allows.
        let ceiling = r.demand_instance_hours / (p.spot.scale_down.threshold / 100.0)
            + f64::from(p.spot.min + p.spot.scale_up.adjustment) * hours;
        prop_assert!(r.spot_instance_hours <= ceiling, "{} > {}", r.spot_instance_hours, ceiling);
    }
}

#[test]
fn seed_thresholds_on_the_shipped_day_save_what_the_write_up_reports() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let demand = Series::from_csv(
        &std::fs::read_to_string(dir.join("demand-day.csv")).unwrap(),
        "demand",
    )
    .unwrap();
    let spot = Series::from_csv(
        &std::fs::read_to_string(dir.join("spot-price-day.csv")).unwrap(),
        "spot",
    )
    .unwrap();
    let mut p = params();
    p.on_demand_price = 0.085; // c5.large, the sample's type
    p.max_price = 0.085;
    let r = run(&p, &demand, &spot);
    // "spot instances gave us savings up to 60%", on a tier of 10-12 at peak.
    assert!(
        (35.0..=62.0).contains(&r.saving_percent),
        "saving {:.1}%",
        r.saving_percent
    );
    assert!(
        (10..=14).contains(&r.peak_instances),
        "{}",
        r.peak_instances
    );
    // The spike reclaims spot and on-demand fills in, briefly short.
    assert_eq!(r.reclaim_events, 1);
    assert!(r.on_demand_scale_ups > 0);
    assert!(r.short_minutes < 60, "{}", r.short_minutes);
}
