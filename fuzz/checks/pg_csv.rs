//! pgindexbloat's CSV input (`relation,size[,table,definition,live_tuples]`,
//! with or without a header): reading and normalising never panic.

pub fn check(data: &[u8]) {
    use pgindexbloat::input::{normalise, read_csv};
    use pgindexbloat::naming::Toast;
    let Ok(rows) = read_csv(data, "fuzz.csv") else {
        return;
    };
    for toast in [Toast::Map, Toast::Exclude] {
        let _ = normalise(rows.clone(), "fuzz.csv", "file", toast);
    }
}
