//! The `--splits` file (mc_aws_common::listing::splits_file): reading never panics, points are
//! strictly increasing, and writing them back reads back the same points.

pub fn check(data: &[u8]) {
    use mc_aws_common::listing::splits_file::{read_points, write_points};
    let path = std::env::temp_dir().join(format!("mc-fuzz-{}-splits.txt", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let read = read_points(&path);
    let Ok(points) = read else {
        let _ = std::fs::remove_file(&path);
        return;
    };
    assert!(points.windows(2).all(|w| w[0] < w[1]));
    let mut out = Vec::new();
    write_points(&mut out, &points).expect("writing to memory");
    let again = std::fs::write(&path, &out).map(|()| read_points(&path));
    let _ = std::fs::remove_file(&path);
    if let Ok(again) = again {
        assert_eq!(again.expect("written points read back"), points);
    }
}
