//! spot-stack simulate's CSV traces (`minute,value`, demand and spot prices):
//! parsing never panics, and a parsed trace drives a short simulation with
//! finite, non-negative costs.

pub fn check(data: &[u8]) {
    use spot_stack::config::GroupPolicy;
    use spot_stack::simulate::{run, Params, Series};
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
}
