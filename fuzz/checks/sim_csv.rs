//! spot-stack simulate's CSV traces (`minute,value`, demand and spot prices;
//! capacity events): parsing never panics, and a parsed trace drives short
//! simulations (the bidding replay and the capacity model's four
//! strategies) with finite, non-negative costs.

pub fn check(data: &[u8]) {
    use spot_stack::config::GroupPolicy;
    use spot_stack::replay::{run, Params};
    use spot_stack::series::Series;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(series) = Series::from_csv(text, "demand") else {
        return;
    };
    for m in [0, 1, 59, series.len_minutes(), u32::MAX] {
        let v = series.at(m);
        assert!(v.is_finite() && v >= 0.0, "{v}");
    }
    // Simulating is O(minutes x instances): only short traces of sane demand.
    let short = series.len_minutes() <= 24 * 60
        && (0..=series.len_minutes()).all(|m| series.at(m) <= 1000.0);
    if !short {
        return;
    }
    let params = Params {
        on_demand: GroupPolicy::seed_on_demand(),
        spot: GroupPolicy::seed_spot(),
        boot_seconds: 90,
        on_demand_price: 0.1,
        max_price: 0.1,
    };
    let report = run(&params, &series, &Series::constant(0.03));
    assert!(report.cost.is_finite() && report.cost >= 0.0, "{report:?}");
    let spot = Series::from_csv(text, "spot prices").expect("parsed once already");
    let report = run(&params, &Series::constant(4.0), &spot);
    assert!(report.cost.is_finite() && report.cost >= 0.0, "{report:?}");
    capacity(&series, text);
}

/// The capacity model on the trace as demand, and on the text as events.
fn capacity(demand: &spot_stack::series::Series, text: &str) {
    use spot_stack::advisor::Band;
    use spot_stack::config::StackConfig;
    use spot_stack::fleet::{run, Kind, Settings};
    use spot_stack::market::{read_shortages, InstanceType, Market, MarketSpec};
    let shortages = read_shortages(text, "events", 2).unwrap_or_default();
    let types = ["c5.large", "m5.large"].map(|name| InstanceType {
        name: name.into(),
        band: Band::Over20,
        weight: 1,
        on_demand_price: 0.1,
    });
    let market = Market::new(MarketSpec {
        types: types.to_vec(),
        zones: 2,
        shortages,
        seed: 1,
        interruptions: true,
        spot_price_ratio: 0.4,
        max_price: None,
        minutes: demand.len_minutes(),
    });
    let mut config = StackConfig::default();
    config.instances.instance_types = vec!["c5.large".into(), "m5.large".into()];
    let settings = Settings::from_config(&config, 90);
    for kind in Kind::ALL {
        let r = run(kind, &settings, &market, demand);
        assert!(
            r.cost.is_finite() && r.cost >= 0.0 && r.cost <= r.all_on_demand_cost + 1e-9,
            "{kind:?}"
        );
    }
}
