//! spot-stack's `--on-demand-prices` CSV file (`instance_type,price`):
//! loading never panics and every loaded price is positive and finite.

pub fn check(data: &[u8]) {
    use spot_stack::prices::OnDemandPrices;
    let path = std::env::temp_dir().join(format!("mc-fuzz-{}-spot-prices.csv", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let mut prices = OnDemandPrices::default();
    let loaded = prices.load_file(&path);
    let _ = std::fs::remove_file(&path);
    if loaded.is_err() {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        if let Some((t, _)) = line.split_once(',') {
            if let Some((p, _)) = prices.get(t.trim()) {
                assert!(p > 0.0 && p.is_finite());
            }
        }
    }
}
