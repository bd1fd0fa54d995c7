//! What a Batch Operations copy job costs, from a dated price table
//! (`data/prices.json`, built in; `--price-table FILE` for another one):
//! Batch Operations' per-job and per-object charges, the copy requests
//! (priced by the destination storage class), what the Lambda handler adds
//! (invocations, its reads), and cross-region transfer per GB.

use std::collections::BTreeMap;
use std::path::Path;

use mc_aws_common::error::ToolError;
use serde::{Deserialize, Serialize};

use crate::copy::Copier;

/// The built-in table.
const BUILT_IN: &str = include_str!("../data/prices.json");
const GIB: f64 = (1u64 << 30) as f64;

/// A price table (USD unless `currency` says otherwise).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    /// When the prices were taken (`YYYY-MM` or a date).
    pub as_of: String,
    pub region: String,
    pub currency: String,
    #[serde(default)]
    pub source: String,
    pub batch_per_job: f64,
    pub batch_per_million_objects: f64,
    /// PUT/COPY requests per 1,000, by destination storage class.
    pub copy_per_1000_requests: BTreeMap<String, f64>,
    /// GET/HEAD requests per 1,000 (the Lambda's reads).
    pub get_per_1000_requests: f64,
    pub lambda_per_million_requests: f64,
    /// Data transfer between two regions, per GB.
    pub inter_region_per_gb: f64,
}

impl PriceTable {
    /// The built-in table.
    pub fn built_in() -> Self {
        // Checked by a unit test; a broken file cannot ship.
        serde_json::from_str(BUILT_IN).unwrap_or_else(|_| Self::empty())
    }

    fn empty() -> Self {
        Self {
            as_of: String::new(),
            region: String::new(),
            currency: "USD".into(),
            source: String::new(),
            batch_per_job: 0.0,
            batch_per_million_objects: 0.0,
            copy_per_1000_requests: BTreeMap::new(),
            get_per_1000_requests: 0.0,
            lambda_per_million_requests: 0.0,
            inter_region_per_gb: 0.0,
        }
    }

    /// `path`, or the built-in table.
    pub fn load(path: Option<&Path>) -> Result<Self, ToolError> {
        let Some(path) = path else {
            return Ok(Self::built_in());
        };
        let text = std::fs::read_to_string(path).map_err(|e| ToolError::file(path, e))?;
        let table: Self = serde_json::from_str(&text).map_err(|e| ToolError::Invalid {
            what: path.display().to_string(),
            message: format!("not a price table: {e}"),
        })?;
        let prices = [
            table.batch_per_job,
            table.batch_per_million_objects,
            table.get_per_1000_requests,
            table.lambda_per_million_requests,
            table.inter_region_per_gb,
        ];
        let all = prices.iter().chain(table.copy_per_1000_requests.values());
        if all.clone().any(|p| !p.is_finite() || *p < 0.0) {
            return Err(ToolError::Invalid {
                what: path.display().to_string(),
                message: "a price is negative or not a number".into(),
            });
        }
        Ok(table)
    }

    /// The COPY price of a storage class (STANDARD's when the table has none).
    fn copy_price(&self, class: &str) -> f64 {
        self.copy_per_1000_requests
            .get(class)
            .or_else(|| self.copy_per_1000_requests.get("STANDARD"))
            .copied()
            .unwrap_or(0.0)
    }
}

/// What the objects to copy are like: what decides how a Batch Operations
/// job can copy them, and what it costs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyProfile {
    pub objects: u64,
    pub bytes: u64,
    /// The largest object's size.
    pub largest: u64,
    /// Objects per source storage class (STANDARD when a listing says none).
    pub classes: std::collections::BTreeMap<String, u64>,
}

impl CopyProfile {
    pub fn add_object(&mut self, size: u64, class: Option<&str>) {
        self.objects += 1;
        self.bytes += size;
        self.largest = self.largest.max(size);
        *self
            .classes
            .entry(class.unwrap_or("STANDARD").to_string())
            .or_default() += 1;
    }

    pub fn merge(&mut self, o: &CopyProfile) {
        self.objects += o.objects;
        self.bytes += o.bytes;
        self.largest = self.largest.max(o.largest);
        for (c, n) in &o.classes {
            *self.classes.entry(c.clone()).or_default() += n;
        }
    }
}

/// How the job copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    /// S3PutObjectCopy: S3 copies each object itself.
    NativeCopy,
    /// LambdaInvoke of the s3-copier handler, which copies each object.
    Lambda {
        /// It reads each source ACL (`--acl copy`).
        reads_acls: bool,
    },
}

/// What the estimate is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload<'a> {
    pub jobs: u64,
    pub objects: u64,
    pub bytes: u64,
    /// Objects per destination storage class.
    pub classes: &'a BTreeMap<String, u64>,
    pub engine: Engine,
    pub cross_region: bool,
}

/// One priced line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Charge {
    pub item: String,
    pub quantity: f64,
    pub unit_price: f64,
    pub cost: f64,
}

/// The estimate: its lines, their total, and the table's date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub kind: &'static str,
    pub currency: String,
    pub prices_as_of: String,
    pub price_region: String,
    pub charges: Vec<Charge>,
    pub total: f64,
    pub notes: Vec<String>,
}

fn charge(item: impl Into<String>, quantity: f64, unit_price: f64, per: f64) -> Charge {
    Charge {
        item: item.into(),
        quantity,
        unit_price,
        cost: quantity / per * unit_price,
    }
}

/// Prices `w` with `t`.
/// Prices copying the objects of `profile` with `copier`'s settings as
/// `jobs` Batch Operations jobs run by `engine`.
pub fn for_copies(
    copier: &Copier,
    profile: &CopyProfile,
    engine: Engine,
    jobs: u64,
    t: &PriceTable,
) -> Estimate {
    // Requests are priced by the class the copies get.
    let classes = match &copier.opts.storage_class {
        Some(c) => BTreeMap::from([(c.clone(), profile.objects)]),
        None => profile.classes.clone(),
    };
    let sse = &copier.sse;
    estimate(
        t,
        &Workload {
            jobs,
            objects: profile.objects,
            bytes: profile.bytes,
            classes: &classes,
            engine,
            cross_region: sse.src_region != sse.dest_region,
        },
    )
}

/// Prices `w` with `t`.
pub fn estimate(t: &PriceTable, w: &Workload<'_>) -> Estimate {
    let n = w.objects as f64;
    let mut charges = vec![
        charge("Batch Operations jobs", w.jobs as f64, t.batch_per_job, 1.0),
        charge(
            "Batch Operations objects (per million)",
            n,
            t.batch_per_million_objects,
            1e6,
        ),
    ];
    for (class, count) in w.classes {
        let item = format!("COPY requests ({class}, per 1,000)");
        charges.push(charge(item, *count as f64, t.copy_price(class), 1e3));
    }
    let mut notes = Vec::new();
    if let Engine::Lambda { reads_acls } = w.engine {
        charges.push(charge(
            "Lambda invocations (per million)",
            n,
            t.lambda_per_million_requests,
            1e6,
        ));
        let reads = if reads_acls { 2.0 } else { 1.0 };
        let item = if reads_acls {
            "HeadObject + GetObjectAcl requests (per 1,000)"
        } else {
            "HeadObject requests (per 1,000)"
        };
        charges.push(charge(item, n * reads, t.get_per_1000_requests, 1e3));
        notes.push("Lambda duration is not estimated: it depends on the function's memory and the objects' sizes; objects above the multipart threshold add their part requests".into());
    }
    if w.cross_region {
        let gb = w.bytes as f64 / GIB;
        charges.push(charge(
            "inter-region transfer (per GB)",
            gb,
            t.inter_region_per_gb,
            1.0,
        ));
    }
    let total = charges.iter().map(|c| c.cost).sum();
    if !t.source.is_empty() {
        notes.push(format!("prices: {}", t.source));
    }
    Estimate {
        kind: "estimate",
        currency: t.currency.clone(),
        prices_as_of: t.as_of.clone(),
        price_region: t.region.clone(),
        charges,
        total,
        notes,
    }
}

impl Estimate {
    /// Human lines: one per charge, then the total.
    pub fn human(&self) -> String {
        let mut out = format!(
            "estimated cost as a Batch Operations job ({} list prices of {}, {}):\n",
            self.price_region, self.prices_as_of, self.currency
        );
        for c in &self.charges {
            out.push_str(&format!(
                "  {:<48} {:>16} x {:<10} = {:>10.2}\n",
                c.item,
                quantity(c.quantity),
                c.unit_price,
                c.cost
            ));
        }
        out.push_str(&format!("  {:<48} {:>44.2}\n", "total", self.total));
        out
    }
}

fn quantity(q: f64) -> String {
    if q.fract() == 0.0 {
        mc_aws_common::output::human_count(q as u64)
    } else {
        format!("{q:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(list: &[(&str, u64)]) -> BTreeMap<String, u64> {
        list.iter().map(|(c, n)| (c.to_string(), *n)).collect()
    }

    #[test]
    fn the_built_in_table_is_dated_and_complete() {
        let t: PriceTable = serde_json::from_str(BUILT_IN).unwrap();
        assert_eq!(t, PriceTable::built_in());
        assert_eq!(t.as_of, "2025-06");
        assert_eq!(t.batch_per_job, 0.25);
        assert_eq!(t.batch_per_million_objects, 1.0);
        assert_eq!(t.copy_price("STANDARD"), 0.005);
        assert_eq!(t.copy_price("NO_SUCH_CLASS"), 0.005);
        assert_eq!(t.copy_price("DEEP_ARCHIVE"), 0.05);
    }

    #[test]
    fn ten_million_objects_natively_in_one_region() {
        let t = PriceTable::built_in();
        let c = classes(&[("STANDARD", 10_000_000)]);
        let e = estimate(
            &t,
            &Workload {
                jobs: 1,
                objects: 10_000_000,
                bytes: 5 << 40,
                classes: &c,
                engine: Engine::NativeCopy,
                cross_region: false,
            },
        );
        let costs: Vec<f64> = e.charges.iter().map(|c| c.cost).collect();
        // $0.25 + 10 x $1.00 + 10,000 x $0.005.
        assert_eq!(costs, [0.25, 10.0, 50.0]);
        assert!((e.total - 60.25).abs() < 1e-9);
        assert!(e.human().contains("total"));
    }

    #[test]
    fn lambda_and_cross_region_add_their_lines() {
        let t = PriceTable::built_in();
        let c = classes(&[("STANDARD", 1_000_000), ("STANDARD_IA", 1_000_000)]);
        let e = estimate(
            &t,
            &Workload {
                jobs: 2,
                objects: 2_000_000,
                bytes: 1000 << 30,
                classes: &c,
                engine: Engine::Lambda { reads_acls: true },
                cross_region: true,
            },
        );
        let by_item = |s: &str| {
            e.charges
                .iter()
                .find(|c| c.item.starts_with(s))
                .unwrap()
                .cost
        };
        assert!((by_item("Batch Operations jobs") - 0.5).abs() < 1e-9);
        assert!((by_item("COPY requests (STANDARD_IA") - 10.0).abs() < 1e-9);
        assert!((by_item("Lambda invocations") - 0.4).abs() < 1e-9);
        // A HEAD and an ACL read per object: 4M GETs at $0.0004/1000.
        assert!((by_item("HeadObject + GetObjectAcl") - 1.6).abs() < 1e-9);
        assert!((by_item("inter-region transfer") - 20.0).abs() < 1e-9);
        assert!(e.notes.iter().any(|n| n.contains("duration")));
    }

    #[test]
    fn a_table_file_overrides_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        let mut v: serde_json::Value = serde_json::from_str(BUILT_IN).unwrap();
        v["batch_per_job"] = 1.5.into();
        std::fs::write(&path, v.to_string()).unwrap();
        assert_eq!(PriceTable::load(Some(&path)).unwrap().batch_per_job, 1.5);
        v["batch_per_job"] = (-1.0).into();
        std::fs::write(&path, v.to_string()).unwrap();
        let e = PriceTable::load(Some(&path)).unwrap_err();
        assert_eq!(e.exit_code(), mc_aws_common::exit::USAGE);
        std::fs::write(&path, "{}").unwrap();
        assert!(PriceTable::load(Some(&path))
            .unwrap_err()
            .to_string()
            .contains("not a price table"));
        let missing = PriceTable::load(Some(&dir.path().join("nope"))).unwrap_err();
        assert_eq!(missing.exit_code(), mc_aws_common::exit::NOT_FOUND);
    }
}
