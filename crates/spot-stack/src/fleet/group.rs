//! An auto scaling group in the simulator: its instances, how it buys them
//! (on-demand, spot from several pools, or an on-demand base with spot above
//! it) and how it launches and terminates to reach its desired capacity.

use crate::market::Market;

/// How a spot group picks its pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// The deepest pools (best band), then the cheapest of them.
    PriceCapacityOptimized,
    /// The deepest pools, then the listed order.
    CapacityOptimized,
    /// The listed order.
    Prioritized,
    /// The cheapest per capacity unit.
    LowestPrice,
}

impl Allocation {
    /// AWS's names; anything unknown reads as price-capacity-optimized
    /// (`validate` refuses unknown names first).
    pub fn parse(name: &str) -> Self {
        match name {
            "capacity-optimized" => Allocation::CapacityOptimized,
            "capacity-optimized-prioritized" => Allocation::Prioritized,
            "lowest-price" => Allocation::LowestPrice,
            _ => Allocation::PriceCapacityOptimized,
        }
    }
}

/// The spot side of a group.
#[derive(Debug, Clone)]
pub struct SpotChoice {
    /// Indexes into the market's types, in the listed order.
    pub types: Vec<usize>,
    pub allocation: Allocation,
    /// Capacity Rebalance: a noticed instance is replaced at once (else
    /// when it is gone).
    pub rebalance: bool,
}

/// What a group buys: on-demand for `on_demand_base` units plus
/// `on_demand_percent` of the rest, spot for the remainder.
#[derive(Debug, Clone)]
pub struct Purchase {
    /// On-demand types in order of preference (the first is launched).
    pub on_demand_types: Vec<usize>,
    pub on_demand_base: u32,
    pub on_demand_percent: u32,
    pub spot: Option<SpotChoice>,
}

impl Purchase {
    pub fn on_demand(types: Vec<usize>) -> Self {
        Purchase {
            on_demand_types: types,
            on_demand_base: 0,
            on_demand_percent: 100,
            spot: None,
        }
    }

    pub fn spot(choice: SpotChoice) -> Self {
        Purchase {
            on_demand_types: choice.types.clone(),
            on_demand_base: 0,
            on_demand_percent: 0,
            spot: Some(choice),
        }
    }

    /// Units of `desired` that are on-demand.
    fn on_demand_units(&self, desired: u32) -> u32 {
        let base = self.on_demand_base.min(desired);
        let rest = desired - base;
        base + (u64::from(rest) * u64::from(self.on_demand_percent)).div_ceil(100) as u32
    }
}

/// One instance.
#[derive(Debug, Clone)]
pub struct Instance {
    pub type_index: usize,
    /// The spot pool, or `None` for on-demand.
    pub pool: Option<usize>,
    /// Its place in the pool (for the market's draws).
    pub slot: u64,
    pub weight: u32,
    pub launched: u32,
    /// First minute in service.
    pub ready: u32,
    /// The minute it goes, once noticed (it serves until then).
    pub leaves: Option<u32>,
}

impl Instance {
    pub fn serving(&self, t: u32) -> bool {
        self.ready <= t && self.leaves.is_none_or(|l| t < l)
    }

    /// In service as auto scaling counts it (a noticed instance is not).
    pub fn in_service(&self, t: u32) -> bool {
        self.ready <= t && self.leaves.is_none()
    }

    pub fn pending(&self, t: u32) -> bool {
        self.ready > t && self.leaves.is_none()
    }
}

/// A group's instances and size.
#[derive(Debug, Clone)]
pub struct Group {
    pub purchase: Purchase,
    /// Kept within the group's bounds by its scaling policy.
    pub desired: u32,
    pub instances: Vec<Instance>,
    /// Next slot per market pool.
    slots: Vec<u64>,
}

impl Group {
    /// A group with `min` running when the trace starts (on-demand units
    /// first, spot in the first pools with capacity).
    pub fn new(purchase: Purchase, min: u32, market: &Market) -> Self {
        let mut g = Group {
            purchase,
            desired: min,
            instances: Vec::new(),
            slots: vec![0; market.pools.len()],
        };
        g.reconcile(market, 0, 0);
        g
    }

    fn noticed_counts(&self) -> bool {
        // Without Capacity Rebalance a noticed instance counts until it goes.
        !self.purchase.spot.as_ref().is_some_and(|s| s.rebalance)
    }

    fn counts(&self, i: &Instance) -> bool {
        i.leaves.is_none() || self.noticed_counts()
    }

    /// Units counted towards desired capacity, (on-demand, spot).
    fn counted(&self) -> (u32, u32) {
        let mut units = (0, 0);
        for i in self.instances.iter().filter(|i| self.counts(i)) {
            match i.pool {
                None => units.0 += i.weight,
                Some(_) => units.1 += i.weight,
            }
        }
        units
    }

    /// Launches or terminates towards the desired capacity; spot launches
    /// fail while no pool of the group has capacity.
    pub fn reconcile(&mut self, market: &Market, t: u32, boot: u32) {
        let od_need = self.purchase.on_demand_units(self.desired);
        let spot_need = self.desired - od_need;
        for spot in [false, true] {
            let need = if spot { spot_need } else { od_need };
            while self.units(spot) > need {
                if !self.terminate_one(spot) {
                    break;
                }
            }
            while self.units(spot) < need {
                if !self.launch_one(market, t, boot, spot) {
                    break;
                }
            }
        }
    }

    fn units(&self, spot: bool) -> u32 {
        let (od, sp) = self.counted();
        if spot {
            sp
        } else {
            od
        }
    }

    /// Terminates the newest counted instance of the market (booting first).
    fn terminate_one(&mut self, spot: bool) -> bool {
        let victim = self
            .instances
            .iter()
            .enumerate()
            .filter(|(_, i)| self.counts(i) && i.pool.is_some() == spot)
            .max_by_key(|(_, i)| (i.ready, i.launched))
            .map(|(n, _)| n);
        match victim {
            Some(n) => {
                self.instances.swap_remove(n);
                true
            }
            None => false,
        }
    }

    fn launch_one(&mut self, market: &Market, t: u32, boot: u32, spot: bool) -> bool {
        let (type_index, pool) = if spot {
            match self.choose_pool(market, t) {
                Some(p) => (market.pools[p].type_index, Some(p)),
                None => return false,
            }
        } else {
            match self.purchase.on_demand_types.first() {
                Some(ty) => (*ty, None),
                None => return false,
            }
        };
        let slot = pool.map_or(0, |p| {
            self.slots[p] += 1;
            self.slots[p]
        });
        self.instances.push(Instance {
            type_index,
            pool,
            slot,
            weight: market.types[type_index].weight,
            launched: t,
            ready: t + boot,
            leaves: None,
        });
        true
    }

    /// The zone with the least of this group's spot units (auto scaling
    /// balances zones first), then the pool its allocation strategy picks.
    fn choose_pool(&self, market: &Market, t: u32) -> Option<usize> {
        let choice = self.purchase.spot.as_ref()?;
        let open: Vec<usize> = (0..market.pools.len())
            .filter(|p| choice.types.contains(&market.pools[*p].type_index))
            .filter(|p| market.available(*p, t))
            .collect();
        let zone_units = |z: usize| -> u32 {
            self.instances
                .iter()
                .filter(|i| i.leaves.is_none() && i.pool.is_some_and(|p| market.pools[p].zone == z))
                .map(|i| i.weight)
                .sum()
        };
        let zone = open
            .iter()
            .map(|p| market.pools[*p].zone)
            .min_by_key(|z| (zone_units(*z), *z))?;
        let rank = |p: &usize| pool_rank(market, choice, *p, t);
        open.into_iter()
            .filter(|p| market.pools[*p].zone == zone)
            .min_by(|a, b| {
                rank(a)
                    .partial_cmp(&rank(b))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
    }

    /// Units in service and pending, as the group metrics report them.
    pub fn in_service_and_pending(&self, t: u32) -> (u32, u32) {
        let sum = |f: &dyn Fn(&Instance) -> bool| -> u32 {
            self.instances
                .iter()
                .filter(|i| f(i))
                .map(|i| i.weight)
                .sum()
        };
        (sum(&|i| i.in_service(t)), sum(&|i| i.pending(t)))
    }

    /// Units serving requests (a noticed instance serves until it goes).
    pub fn serving(&self, t: u32) -> (u32, u32) {
        let mut units = (0, 0);
        for i in self.instances.iter().filter(|i| i.serving(t)) {
            match i.pool {
                None => units.0 += i.weight,
                Some(_) => units.1 += i.weight,
            }
        }
        units
    }
}

/// Lower is preferred: (band, price per unit, listed order) as the
/// allocation strategy weighs them.
fn pool_rank(market: &Market, choice: &SpotChoice, pool: usize, t: u32) -> (f64, f64, f64) {
    let ty = &market.types[market.pools[pool].type_index];
    let band = ty.band as u8 as f64;
    let per_unit = market.spot_price(pool, t) / f64::from(ty.weight.max(1));
    let order = choice
        .types
        .iter()
        .position(|i| *i == market.pools[pool].type_index)
        .unwrap_or(usize::MAX) as f64;
    match choice.allocation {
        Allocation::PriceCapacityOptimized => (band, per_unit, order),
        Allocation::CapacityOptimized => (band, order, per_unit),
        Allocation::Prioritized => (order, 0.0, 0.0),
        Allocation::LowestPrice => (per_unit, order, 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::Band;
    use crate::market::{InstanceType, MarketSpec};

    fn market() -> Market {
        let ty = |name: &str, band, price| InstanceType {
            name: name.into(),
            band,
            weight: 1,
            on_demand_price: price,
        };
        Market::new(MarketSpec {
            types: vec![
                ty("cheap-risky", Band::Over20, 0.05),
                ty("deep", Band::Under5, 0.1),
                ty("deep-dear", Band::Under5, 0.2),
            ],
            zones: 2,
            shortages: vec![],
            seed: 1,
            interruptions: false,
            spot_price_ratio: 0.4,
            max_price: None,
            minutes: 60,
        })
    }

    fn spot(allocation: Allocation, rebalance: bool) -> Purchase {
        Purchase::spot(SpotChoice {
            types: vec![0, 1, 2],
            allocation,
            rebalance,
        })
    }

    fn types_of(g: &Group, m: &Market) -> Vec<String> {
        g.instances
            .iter()
            .map(|i| m.pool_name(i.pool.unwrap_or(usize::MAX)))
            .collect()
    }

    #[test]
    fn allocation_strategies_pick_their_pools_zone_by_zone() {
        let m = market();
        let g = Group::new(spot(Allocation::PriceCapacityOptimized, true), 4, &m);
        assert_eq!(
            types_of(&g, &m),
            ["deep/az1", "deep/az2", "deep/az1", "deep/az2"]
        );
        let g = Group::new(spot(Allocation::LowestPrice, true), 2, &m);
        assert_eq!(types_of(&g, &m), ["cheap-risky/az1", "cheap-risky/az2"]);
        let g = Group::new(spot(Allocation::Prioritized, true), 1, &m);
        assert_eq!(types_of(&g, &m), ["cheap-risky/az1"]);
    }

    #[test]
    fn capacity_rebalance_replaces_a_noticed_instance_at_once() {
        let m = market();
        for rebalance in [true, false] {
            let mut g = Group::new(spot(Allocation::PriceCapacityOptimized, rebalance), 2, &m);
            g.instances[0].leaves = Some(12);
            g.reconcile(&m, 10, 2);
            let expected = if rebalance { 3 } else { 2 };
            assert_eq!(g.instances.len(), expected, "rebalance {rebalance}");
            assert_eq!(g.serving(11), (0, 2));
            assert_eq!(g.in_service_and_pending(10), (1, u32::from(rebalance)));
        }
    }

    #[test]
    fn a_mixed_group_keeps_its_on_demand_base() {
        let m = market();
        let mut p = spot(Allocation::PriceCapacityOptimized, true);
        p.on_demand_base = 1;
        p.on_demand_percent = 50;
        let mut g = Group::new(p, 5, &m);
        // 1 base + half of the 4 above it, rounded up.
        assert_eq!(g.counted(), (3, 2));
        g.desired = 2;
        g.reconcile(&m, 1, 2);
        assert_eq!(g.counted(), (2, 0));
    }
}
