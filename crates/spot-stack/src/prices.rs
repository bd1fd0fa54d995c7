//! On-demand prices: a small bundled table (Linux, us-east-1, USD per hour,
//! with its date), overridable per type with `--on-demand-price TYPE=PRICE`
//! or a CSV file (`instance_type,price[,region]`). Prices change rarely but
//! they do change, and they differ by region: the table is only used for
//! its own region, and every report names where a price came from. (The
//! Price List API is not used: its documents are large and the tool would
//! need a pricing endpoint and credentials for it; a file does the job.)

use std::collections::BTreeMap;
use std::path::Path;

/// When the bundled table was taken.
pub const TABLE_DATE: &str = "2025-06-01";
/// Which region the bundled table is for.
pub const TABLE_REGION: &str = "us-east-1";

const TABLE: &[(&str, f64)] = &[
    ("c3.large", 0.105),
    ("c4.large", 0.10),
    ("c5.large", 0.085),
    ("c5.xlarge", 0.17),
    ("c5.2xlarge", 0.34),
    ("c5a.large", 0.077),
    ("c6g.large", 0.068),
    ("c6i.large", 0.085),
    ("c6i.xlarge", 0.17),
    ("c7g.large", 0.0725),
    ("c7i.large", 0.08925),
    ("m5.large", 0.096),
    ("m5.xlarge", 0.192),
    ("m6g.large", 0.077),
    ("m6i.large", 0.096),
    ("m6i.xlarge", 0.192),
    ("m7g.large", 0.0816),
    ("m7i.large", 0.1008),
    ("r5.large", 0.126),
    ("r6i.large", 0.126),
    ("t3.medium", 0.0416),
    ("t3.large", 0.0832),
];

/// Where a price came from, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    BundledTable,
    Override,
}

/// The table plus overrides.
#[derive(Debug, Clone, Default)]
pub struct OnDemandPrices {
    /// Per type: the price for any region (`None`), and per region.
    overrides: BTreeMap<(String, Option<String>), f64>,
}

/// A bad override.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PriceError(pub String);

impl OnDemandPrices {
    /// `TYPE=PRICE` pairs from the command line.
    pub fn with_overrides(pairs: &[String]) -> Result<Self, PriceError> {
        let mut p = Self::default();
        for pair in pairs {
            let (t, v) = pair.split_once('=').ok_or_else(|| {
                PriceError(format!(
                    "--on-demand-price {pair:?}: expected TYPE=PRICE, e.g. c5.large=0.085"
                ))
            })?;
            p.insert(
                t.trim(),
                v.trim(),
                None,
                &format!("--on-demand-price {pair:?}"),
            )?;
        }
        Ok(p)
    }

    /// Adds `instance_type,price[,region]` rows from a CSV file (a header
    /// row is optional; a row without a region holds for every region).
    pub fn load_file(&mut self, path: &Path) -> Result<(), PriceError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PriceError(format!("{}: {e}", path.display())))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = format!("{}:{}", path.display(), n + 1);
            let mut fields = line.split(',').map(str::trim);
            let (Some(t), Some(v)) = (fields.next(), fields.next()) else {
                return Err(PriceError(format!(
                    "{at}: expected instance_type,price[,region]"
                )));
            };
            let region = fields.next().filter(|r| !r.is_empty());
            if fields.next().is_some() {
                return Err(PriceError(format!(
                    "{at}: expected instance_type,price[,region]"
                )));
            }
            if n == 0 && t.eq_ignore_ascii_case("instance_type") {
                continue; // header
            }
            self.insert(t, v, region, &at)?;
        }
        Ok(())
    }

    fn insert(
        &mut self,
        t: &str,
        v: &str,
        region: Option<&str>,
        at: &str,
    ) -> Result<(), PriceError> {
        match v.parse::<f64>() {
            Ok(p) if p > 0.0 && p.is_finite() && !t.is_empty() => {
                self.overrides
                    .insert((t.to_string(), region.map(str::to_string)), p);
                Ok(())
            }
            _ => Err(PriceError(format!("{at}: {v:?} is not a positive price"))),
        }
    }

    /// The on-demand price of `instance_type` wherever it runs (an override,
    /// else the bundled table's) and where it came from: for offline use.
    pub fn get(&self, instance_type: &str) -> Option<(f64, Source)> {
        if let Some(p) = self.overrides.get(&(instance_type.to_string(), None)) {
            return Some((*p, Source::Override));
        }
        bundled(instance_type)
    }

    /// The on-demand price of `instance_type` in `region`: an override for
    /// that region, else one for any region, else the bundled table's when
    /// `region` is the table's.
    pub fn get_in(&self, instance_type: &str, region: &str) -> Option<(f64, Source)> {
        let key = |r: Option<&str>| (instance_type.to_string(), r.map(str::to_string));
        if let Some(p) = self.overrides.get(&key(Some(region))) {
            return Some((*p, Source::Override));
        }
        if let Some(p) = self.overrides.get(&key(None)) {
            return Some((*p, Source::Override));
        }
        (region == TABLE_REGION)
            .then(|| bundled(instance_type))
            .flatten()
    }

    /// Like [`Self::get`] but an error that says how to supply the price.
    pub fn require(&self, instance_type: &str) -> Result<f64, PriceError> {
        self.get(instance_type).map(|(p, _)| p).ok_or_else(|| {
            PriceError(format!(
                "no on-demand price for {instance_type} in the bundled table ({TABLE_REGION}, {TABLE_DATE}): pass --on-demand-price {instance_type}=PRICE or --on-demand-prices FILE"
            ))
        })
    }

    /// Like [`Self::get_in`] but an error that says how to supply the price.
    pub fn require_in(
        &self,
        instance_type: &str,
        region: &str,
    ) -> Result<(f64, Source), PriceError> {
        self.get_in(instance_type, region).ok_or_else(|| {
            let table = if region == TABLE_REGION {
                format!("not in the bundled table ({TABLE_REGION}, {TABLE_DATE})")
            } else {
                format!("the bundled table is {TABLE_REGION}'s ({TABLE_DATE})")
            };
            PriceError(format!(
                "no on-demand price for {instance_type} in {region}: {table}; pass --on-demand-price {instance_type}=PRICE or --on-demand-prices FILE (instance_type,price,region)"
            ))
        })
    }
}

fn bundled(instance_type: &str) -> Option<(f64, Source)> {
    TABLE
        .iter()
        .find(|(t, _)| *t == instance_type)
        .map(|(_, p)| (*p, Source::BundledTable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_overrides() {
        let p = OnDemandPrices::with_overrides(&["c5.large=0.1".into()]).unwrap();
        assert_eq!(p.get("c5.large"), Some((0.1, Source::Override)));
        assert_eq!(p.get("m5.large"), Some((0.096, Source::BundledTable)));
        assert!(p.get("x9.huge").is_none());
        let e = p.require("x9.huge").unwrap_err().to_string();
        assert!(e.contains("--on-demand-price x9.huge=PRICE"), "{e}");
        assert!(OnDemandPrices::with_overrides(&["c5.large".into()]).is_err());
        assert!(OnDemandPrices::with_overrides(&["c5.large=-2".into()]).is_err());
    }

    #[test]
    fn regions() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.csv");
        std::fs::write(
            &f,
            "instance_type,price,region\nc5.large,0.096,eu-west-1\nm5.large,0.1\n",
        )
        .unwrap();
        let mut p = OnDemandPrices::default();
        p.load_file(&f).unwrap();
        assert_eq!(
            p.get_in("c5.large", "eu-west-1"),
            Some((0.096, Source::Override))
        );
        assert_eq!(
            p.get_in("c5.large", "us-east-1"),
            Some((0.085, Source::BundledTable))
        );
        assert_eq!(
            p.get_in("m5.large", "ap-south-1"),
            Some((0.1, Source::Override))
        );
        let e = p
            .require_in("c6i.large", "eu-west-1")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("the bundled table is us-east-1's (2025-06-01)"),
            "{e}"
        );
        std::fs::write(&f, "c5.large,0.1,eu-west-1,extra\n").unwrap();
        let e = p.load_file(&f).unwrap_err().to_string();
        assert!(e.contains("expected instance_type,price[,region]"), "{e}");
    }

    #[test]
    fn file_with_header() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.csv");
        std::fs::write(
            &f,
            "instance_type,price\nc5.large,0.09\n# comment\nx1.big,3\n",
        )
        .unwrap();
        let mut p = OnDemandPrices::default();
        p.load_file(&f).unwrap();
        assert_eq!(p.get("x1.big"), Some((3.0, Source::Override)));
        std::fs::write(&f, "c5.large,zero\n").unwrap();
        let e = p.load_file(&f).unwrap_err().to_string();
        assert!(
            e.contains("p.csv:1: \"zero\" is not a positive price"),
            "{e}"
        );
    }
}
