//! Today's spot market as the simulator sees it: capacity, not bids.
//!
//! - A pool is one instance type in one zone. Each type has a Spot Instance
//!   Advisor band: every spot instance in its pools is interrupted in a
//!   given minute with the band's per-minute chance (the same draw for the
//!   same pool, minute and instance slot, whatever the strategy: common
//!   random numbers, so strategies meet the same weather).
//! - A shortage reclaims every spot instance in the pools it covers (a whole
//!   type across zones, a whole zone across types, or one pool) and keeps
//!   those pools from launching until it ends: the correlated events that
//!   empty a single-type spot group.
//! - An interruption or a shortage comes with the two-minute notice: the
//!   instance serves two more minutes, then goes.
//! - Spot prices move slowly: each pool starts near `spot_price_ratio` of
//!   its type's on-demand price and steps a few percent every 2 to 6 hours.
//!   A max price, if set, is one more way to lose spot: a pool priced above
//!   it is reclaimed and cannot launch.

use crate::advisor::Band;
use crate::series::SeriesError;

/// One instance type in one zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    /// Index into [`Market::types`].
    pub type_index: usize,
    pub zone: usize,
}

/// An instance type the strategies may launch.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceType {
    pub name: String,
    pub band: Band,
    /// Capacity units.
    pub weight: u32,
    /// USD per hour.
    pub on_demand_price: f64,
}

/// Pools that cannot launch spot, and whose spot instances are reclaimed
/// when it starts, from `start` until before `end` (minutes).
#[derive(Debug, Clone, PartialEq)]
pub struct Shortage {
    pub start: u32,
    pub end: u32,
    /// A type name, or every type.
    pub instance_type: Option<String>,
    /// A zone index, or every zone.
    pub zone: Option<usize>,
}

impl Shortage {
    fn covers(&self, types: &[InstanceType], pool: &Pool) -> bool {
        self.instance_type
            .as_ref()
            .is_none_or(|t| *t == types[pool.type_index].name)
            && self.zone.is_none_or(|z| z == pool.zone)
    }

    fn active(&self, t: u32) -> bool {
        (self.start..self.end).contains(&t)
    }
}

/// What the market is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketSpec {
    pub types: Vec<InstanceType>,
    pub zones: usize,
    pub shortages: Vec<Shortage>,
    /// Draws for interruptions and price drift.
    pub seed: u64,
    /// Interruptions at the bands' rates (off: shortages only).
    pub interruptions: bool,
    pub spot_price_ratio: f64,
    pub max_price: Option<f64>,
    /// Minutes the prices are drawn for.
    pub minutes: u32,
}

/// The market for one run (the same for every strategy).
#[derive(Debug, Clone)]
pub struct Market {
    pub types: Vec<InstanceType>,
    pub pools: Vec<Pool>,
    pub zones: usize,
    pub shortages: Vec<Shortage>,
    seed: u64,
    interruptions: bool,
    max_price: Option<f64>,
    /// Per pool: `(from minute, price)` steps, sorted.
    prices: Vec<Vec<(u32, f64)>>,
}

impl Market {
    pub fn new(spec: MarketSpec) -> Self {
        let zones = spec.zones.max(1);
        let pools: Vec<Pool> = (0..spec.types.len())
            .flat_map(|type_index| (0..zones).map(move |zone| Pool { type_index, zone }))
            .collect();
        let prices = pools
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let base = spec.types[p.type_index].on_demand_price * spec.spot_price_ratio;
                drift(spec.seed, i as u64, base, spec.minutes)
            })
            .collect();
        Market {
            types: spec.types,
            pools,
            zones,
            shortages: spec.shortages,
            seed: spec.seed,
            interruptions: spec.interruptions,
            max_price: spec.max_price,
            prices,
        }
    }

    /// The spot price of `pool` at minute `t`, USD per hour.
    pub fn spot_price(&self, pool: usize, t: u32) -> f64 {
        let steps = &self.prices[pool];
        let i = steps.partition_point(|(m, _)| *m <= t);
        steps.get(i.saturating_sub(1)).map_or(0.0, |(_, p)| *p)
    }

    fn above_max_price(&self, pool: usize, t: u32) -> bool {
        self.max_price.is_some_and(|m| self.spot_price(pool, t) > m)
    }

    /// Whether spot can launch in `pool` at `t`.
    pub fn available(&self, pool: usize, t: u32) -> bool {
        let p = &self.pools[pool];
        !self.above_max_price(pool, t)
            && !self
                .shortages
                .iter()
                .any(|s| s.active(t) && s.covers(&self.types, p))
    }

    /// Whether the spot instance in `slot` of `pool` gets its notice at `t`:
    /// a shortage starts, the price passes the max price, or the band's
    /// draw says so.
    pub fn notice(&self, pool: usize, slot: u64, t: u32) -> bool {
        let p = &self.pools[pool];
        if self
            .shortages
            .iter()
            .any(|s| s.start == t && s.covers(&self.types, p))
        {
            return true;
        }
        if self.above_max_price(pool, t) {
            return true;
        }
        self.interruptions
            && unit(mix(&[self.seed, 1, pool as u64, slot, u64::from(t)]))
                < self.types[p.type_index].band.per_minute()
    }

    /// A label for a pool: `c5.large/az1`.
    pub fn pool_name(&self, pool: usize) -> String {
        let p = &self.pools[pool];
        format!("{}/{}", self.types[p.type_index].name, zone_name(p.zone))
    }
}

/// `az1`, `az2`, ...: a zone per subnet of the config.
pub fn zone_name(zone: usize) -> String {
    format!("az{}", zone + 1)
}

/// A pool's price path: near `base` (±10%), then a step of -5%..+5% every
/// 2 to 6 hours, kept within 70%..130% of `base`.
fn drift(seed: u64, pool: u64, base: f64, minutes: u32) -> Vec<(u32, f64)> {
    let draw = |k: u64| unit(mix(&[seed, 2, pool, k]));
    let mut price = base * (0.9 + 0.2 * draw(0));
    let mut steps = vec![(0, price)];
    let mut t = 0u32;
    let mut k = 1;
    loop {
        t = t.saturating_add(120 + (draw(k) * 240.0) as u32);
        if t >= minutes {
            return steps;
        }
        price = (price * (0.95 + 0.1 * draw(k + 1))).clamp(0.7 * base, 1.3 * base);
        steps.push((t, price));
        k += 2;
    }
}

/// splitmix64 over the words: a deterministic hash for the draws.
fn mix(words: &[u64]) -> u64 {
    let mut h = 0x9e37_79b9_7f4a_7c15u64;
    for w in words {
        h ^= w.wrapping_add(0x9e37_79b9_7f4a_7c15);
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
    }
    h
}

/// A hash as a number in [0, 1).
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// `n` shortages drawn from `seed` over `minutes`: half take one type out of
/// every zone (a type with a worse band more often), half one pool, each for
/// 30 to 180 minutes.
pub fn random_shortages(
    types: &[InstanceType],
    zones: usize,
    n: u32,
    seed: u64,
    minutes: u32,
) -> Vec<Shortage> {
    let total: f64 = types.iter().map(|t| t.band.monthly_rate()).sum();
    (0..u64::from(n))
        .map(|i| {
            let draw = |k: u64| unit(mix(&[seed, 3, i, k]));
            let start = (draw(0) * f64::from(minutes)) as u32;
            let length = 30 + (draw(1) * 150.0) as u32;
            let mut pick = draw(2) * total;
            let ty = types
                .iter()
                .find(|t| {
                    pick -= t.band.monthly_rate();
                    pick < 0.0
                })
                .or(types.last())
                .map(|t| t.name.clone());
            let zone = (draw(3) < 0.5).then(|| (draw(4) * zones as f64) as usize % zones.max(1));
            Shortage {
                start,
                end: start.saturating_add(length),
                instance_type: ty,
                zone,
            }
        })
        .collect()
}

/// Reads `start_minute,end_minute,instance_type,zone` rows (`*` for every
/// type or zone; zones `az1`, `az2`, ...).
pub fn read_shortages(text: &str, what: &str, zones: usize) -> Result<Vec<Shortage>, SeriesError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let at = |m: String| SeriesError(format!("{what}: line {line}: {m}"));
        let row = row.map_err(|e| at(e.to_string()))?;
        if row.len() != 4 {
            return Err(at(
                "expected four columns: start_minute,end_minute,instance_type,zone".into(),
            ));
        }
        let [start, end, ty, zone] = [0, 1, 2, 3].map(|c| row.get(c).unwrap_or(""));
        let minute = |v: &str| {
            v.parse::<u32>()
                .map_err(|_| at(format!("{v:?} is not a whole minute")))
        };
        let (start, end) = (minute(start)?, minute(end)?);
        if end <= start {
            return Err(at(format!("end {end} is not after start {start}")));
        }
        let zone = match zone {
            "*" => None,
            z => Some(
                parse_zone(z, zones)
                    .ok_or_else(|| at(format!("zone {z:?} is not * or az1..az{zones}")))?,
            ),
        };
        if ty.is_empty() {
            return Err(at(
                "expected start_minute,end_minute,instance_type,zone".into()
            ));
        }
        out.push(Shortage {
            start,
            end,
            instance_type: (ty != "*").then(|| ty.to_string()),
            zone,
        });
    }
    Ok(out)
}

fn parse_zone(text: &str, zones: usize) -> Option<usize> {
    let n: usize = text.strip_prefix("az")?.parse().ok()?;
    (1..=zones).contains(&n).then(|| n - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types() -> Vec<InstanceType> {
        ["c5.large", "m5.large"]
            .iter()
            .map(|n| InstanceType {
                name: n.to_string(),
                band: Band::Over20,
                weight: 1,
                on_demand_price: 0.1,
            })
            .collect()
    }

    fn market(shortages: Vec<Shortage>, max_price: Option<f64>) -> Market {
        Market::new(MarketSpec {
            types: types(),
            zones: 2,
            shortages,
            seed: 7,
            interruptions: true,
            spot_price_ratio: 0.4,
            max_price,
            minutes: 1440,
        })
    }

    #[test]
    fn a_type_shortage_takes_every_zone_of_that_type() {
        let m = market(
            vec![Shortage {
                start: 10,
                end: 20,
                instance_type: Some("c5.large".into()),
                zone: None,
            }],
            None,
        );
        assert_eq!(m.pools.len(), 4);
        for pool in 0..4 {
            let c5 = m.pools[pool].type_index == 0;
            assert_eq!(m.available(pool, 15), !c5, "{}", m.pool_name(pool));
            assert!(m.available(pool, 20));
            if c5 {
                assert!(m.notice(pool, 0, 10));
            }
        }
    }

    #[test]
    fn prices_drift_slowly_and_a_max_price_reclaims() {
        let m = market(vec![], None);
        for pool in 0..4 {
            let steps = &m.prices[pool];
            assert!(steps.len() >= 4 && steps.len() <= 13, "{steps:?}");
            for w in steps.windows(2) {
                assert!(w[1].0 - w[0].0 >= 120);
                assert!((w[1].1 / w[0].1 - 1.0).abs() <= 0.05 + 1e-12);
            }
            assert!(steps.iter().all(|(_, p)| (0.028..=0.052).contains(p)));
        }
        let m = market(vec![], Some(0.04));
        let above = (0..1440).filter(|t| !m.available(0, *t)).count();
        assert_eq!(
            above,
            (0..1440).filter(|t| m.spot_price(0, *t) > 0.04).count()
        );
    }

    #[test]
    fn interruptions_follow_the_band() {
        let m = market(vec![], None);
        // >20% a month: about 0.0067% a minute; over 30 days of one slot
        // about a quarter of the minutes... a quarter of a month's worth.
        let hits = (0..43_200u32)
            .flat_map(|t| (0..20u64).map(move |s| (t, s)))
            .filter(|(t, s)| m.notice(0, *s, *t))
            .count();
        let expected = 20.0 * 43_200.0 * Band::Over20.per_minute();
        assert!(
            (hits as f64 - expected).abs() < 4.0 * expected.sqrt(),
            "{hits} vs {expected}"
        );
    }

    #[test]
    fn shortage_files() {
        let s = read_shortages(
            "start_minute,end_minute,instance_type,zone\n# c\n10,20,c5.large,*\n30,40,*,az2\n",
            "events.csv",
            2,
        )
        .unwrap();
        assert_eq!(s[0].instance_type.as_deref(), Some("c5.large"));
        assert_eq!(s[1].zone, Some(1));
        let e = read_shortages("h\n5,5,x,*\n", "e", 2)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "e: line 2: end 5 is not after start 5");
        let e = read_shortages("h\n1,5,x,az3\n", "e", 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("az1..az2"), "{e}");
        let r = random_shortages(&types(), 2, 5, 1, 1440);
        assert_eq!(r.len(), 5);
        assert!(r
            .iter()
            .all(|s| s.end - s.start >= 30 && s.end - s.start <= 180));
    }
}
