//! spot-stack's TOML config: parsing, validating for every strategy and (when
//! valid) building and rendering the CloudFormation template never panic.

pub fn check(data: &[u8]) {
    use spot_stack::config::StackConfig;
    use spot_stack::replay::{run, Params};
    use spot_stack::series::Series;
    use spot_stack::template::{build, render, Shape, Strategy, TemplateFormat};
    use spot_stack::validate;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `user_data_file` reads a file named by the config: not the parser's input.
    if text.contains("user_data") || text.contains("\\u") || text.contains("\\U") {
        return;
    }
    let path = std::path::Path::new("/nonexistent/fuzz/stack.toml");
    let Ok(config) = StackConfig::parse(text, path) else {
        return;
    };
    let _ = (config.primary_type(), config.mixed_bounds());
    // `spot-stack simulate` runs when only `instances.*` settings are wrong.
    let problems = validate::check(&config, Shape::of(&config, Strategy::TwoGroups), Some(0.1));
    if !problems
        .iter()
        .any(|p| p.severity == validate::Severity::Error && !p.setting.starts_with("instances."))
    {
        let params = Params {
            on_demand: config.on_demand,
            spot: config.spot.group,
            boot_seconds: config.instances.boot_seconds,
            on_demand_price: 0.1,
            max_price: config.spot.max_price.unwrap_or(0.1),
        };
        let demand = Series::new(vec![(0, 1.0), (30, 40.0), (90, 0.0), (120, 2.0)]);
        let spot = Series::new(vec![(0, 0.03), (60, 0.5), (100, 0.02)]);
        if let (Ok(demand), Ok(spot)) = (demand, spot) {
            let report = run(&params, &demand, &spot);
            assert!(report.cost.is_finite() && report.cost >= 0.0, "{report:?}");
        }
    }
    for strategy in [Strategy::TwoGroups, Strategy::Mixed, Strategy::Seed] {
        for max_price in [None, Some(0.05)] {
            let shape = Shape {
                max_price,
                ..Shape::of(&config, strategy)
            };
            let problems = validate::check(&config, shape, Some(0.1));
            if validate::has_errors(&problems) {
                continue;
            }
            if let Ok(t) = build(&config, shape) {
                for format in [TemplateFormat::Yaml, TemplateFormat::Json] {
                    assert!(!render(&t, format).is_empty());
                }
            }
        }
    }
}
