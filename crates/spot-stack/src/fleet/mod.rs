//! The capacity simulator (`simulate`, the default model): four strategies
//! side by side on the same demand and the same spot market
//! ([`crate::market`]), minute by minute.
//!
//! - `seed`: the write-up's two groups, one instance type, CPU alarms only;
//!   no Capacity Rebalance.
//! - `two-groups`: the same CPU groups over every configured type
//!   (allocation strategy and Capacity Rebalance as configured) and the
//!   fallback group.
//! - `mixed`: one group, an on-demand base and spot above it, target
//!   tracking on CPU; nothing fails it over to on-demand.
//! - `mixed+fallback`: the same with the fallback group beside it.
//!
//! The model, besides the market's: demand is CPU work in capacity units at
//! 100% CPU, spread evenly over every instance serving (so all groups see
//! the same CPU); instances are billed from launch and serve after the boot
//! time (whole minutes); a noticed spot instance serves two more minutes;
//! on-demand capacity is always available; scale-in terminates at once
//! (draining is not modelled). A minute is short when demand exceeds the
//! capacity serving; the shortfall is the sum of what is missing, in
//! instance-minutes (capacity-unit minutes when weighted).

pub mod group;
pub mod scaling;

use serde::Serialize;

use crate::config::{GroupPolicy, StackConfig};
use crate::market::Market;
use crate::series::Series;

use group::{Allocation, Group, Purchase, SpotChoice};
use scaling::{Cpu, Fallback, GroupNow, Sample, SimpleScaling, TargetTracking};

/// The strategies compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    #[serde(rename = "seed")]
    Seed,
    #[serde(rename = "two-groups")]
    TwoGroups,
    #[serde(rename = "mixed")]
    Mixed,
    #[serde(rename = "mixed+fallback")]
    MixedFallback,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Seed,
        Kind::TwoGroups,
        Kind::Mixed,
        Kind::MixedFallback,
    ];

    /// How reports name it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Seed => "seed: two groups, CPU only",
            Kind::TwoGroups => "two groups + shortfall alarm",
            Kind::Mixed => "mixed",
            Kind::MixedFallback => "mixed + on-demand fallback",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Kind::Seed => "seed",
            Kind::TwoGroups => "two-groups",
            Kind::Mixed => "mixed",
            Kind::MixedFallback => "mixed+fallback",
        }
    }
}

/// What the strategies are made of (from the config).
#[derive(Debug, Clone)]
pub struct Settings {
    pub on_demand: GroupPolicy,
    pub spot: GroupPolicy,
    pub spot_allocation: Allocation,
    pub spot_rebalance: bool,
    pub mixed: MixedSettings,
    /// Fallback alarm period (seconds) and evaluation periods.
    pub fallback_period: u32,
    pub fallback_evaluation_periods: u32,
    /// The fallback group's max beside the two groups, beside the mixed one.
    pub fallback_max: (u32, u32),
    pub boot_minutes: u32,
}

#[derive(Debug, Clone)]
pub struct MixedSettings {
    pub min: u32,
    pub max: u32,
    pub on_demand_base: u32,
    pub on_demand_percent: u32,
    pub target_cpu: f64,
    pub allocation: Allocation,
    pub rebalance: bool,
}

impl Settings {
    pub fn from_config(c: &StackConfig, boot_seconds: u32) -> Self {
        let (min, max) = c.mixed_bounds();
        Settings {
            on_demand: c.on_demand,
            spot: c.spot.group,
            spot_allocation: Allocation::parse(&c.spot.allocation_strategy),
            spot_rebalance: c.spot.capacity_rebalance,
            mixed: MixedSettings {
                min,
                max,
                on_demand_base: c.mixed.on_demand_base,
                on_demand_percent: c.mixed.on_demand_percentage_above_base,
                target_cpu: c.mixed.target_cpu,
                allocation: Allocation::parse(&c.mixed.spot_allocation_strategy),
                rebalance: c.mixed.capacity_rebalance,
            },
            fallback_period: c.fallback.period,
            fallback_evaluation_periods: c.fallback.evaluation_periods,
            fallback_max: (c.fallback_max(false), c.fallback_max(true)),
            boot_minutes: boot_seconds.div_ceil(60),
        }
    }
}

/// One hour of a run, for the chart and JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Hour {
    pub hour: u32,
    /// Averages over the hour, capacity units.
    pub demand: f64,
    pub on_demand: f64,
    pub fallback: f64,
    pub spot: f64,
    pub cost: f64,
    pub short_minutes: u32,
}

/// One minute of a run (the chart and the property tests read these).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Minute {
    pub demand: f64,
    /// Capacity serving, by market.
    pub on_demand: u32,
    pub fallback: u32,
    pub spot: u32,
    pub short: bool,
    pub fallback_desired: u32,
    /// The spot group's (or mixed group's) sizes.
    pub spot_side: GroupNow,
}

/// The outcome of one strategy.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub strategy: Kind,
    pub label: &'static str,
    pub minutes: u32,
    pub cost: f64,
    /// The same instance-minutes at their types' on-demand prices.
    pub all_on_demand_cost: f64,
    pub saving_percent: f64,
    /// Demand not served, summed over the minutes (instance-minutes).
    pub shortfall_instance_minutes: f64,
    /// The longest run of minutes short of demand.
    pub worst_gap_minutes: u32,
    pub short_minutes: u32,
    pub on_demand_instance_hours: f64,
    pub fallback_instance_hours: f64,
    pub spot_instance_hours: f64,
    /// Spot instances that got a two-minute notice.
    pub interruptions: u32,
    pub peak_instances: u32,
    /// Times the fallback group's desired capacity changed.
    pub fallback_changes: u32,
    pub hours: Vec<Hour>,
    #[serde(skip)]
    pub timeline: Vec<Minute>,
}

/// Runs one strategy over the demand trace's length.
pub fn run(kind: Kind, s: &Settings, market: &Market, demand: &Series) -> Report {
    let mut fleet = Fleet::new(kind, s, market);
    let mut tally = Tally::new(kind);
    for t in 0..demand.len_minutes() {
        tally.interruptions += fleet.notices(market, t);
        fleet.reconcile(market, t, s.boot_minutes);
        let minute = fleet.measure(t, demand.at(t));
        tally.bill(&fleet, market, t);
        tally.add(minute);
        fleet.scale(t, s.boot_minutes);
    }
    tally.report()
}

/// What a group is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    OnDemand,
    Spot,
    Mixed,
    Fallback,
}

#[derive(Debug, Clone)]
enum Scaling {
    Simple(SimpleScaling),
    Target(TargetTracking),
    Fallback(Fallback),
}

#[derive(Debug, Clone)]
struct Member {
    role: Role,
    group: Group,
    scaling: Scaling,
    cpu: Cpu,
    /// Minutes this group's CPU scale-in is held (the spot group's, while
    /// the fallback group has capacity).
    held: Vec<bool>,
}

struct Fleet {
    members: Vec<Member>,
}

/// Makes the groups of a strategy, each running its minimum.
struct Builder<'a> {
    s: &'a Settings,
    market: &'a Market,
    /// Every type, in the listed order.
    all: &'a [usize],
}

impl Builder<'_> {
    fn member(&self, role: Role, purchase: Purchase, min: u32, scaling: Scaling) -> Member {
        Member {
            role,
            group: Group::new(purchase, min, self.market),
            scaling,
            cpu: Cpu::default(),
            held: Vec::new(),
        }
    }

    /// The write-up's on-demand group, CPU simple scaling.
    fn on_demand(&self, types: Vec<usize>) -> Member {
        let p = self.s.on_demand;
        self.member(
            Role::OnDemand,
            Purchase::on_demand(types),
            p.min,
            Scaling::Simple(SimpleScaling::new(p)),
        )
    }

    /// The write-up's spot group over `types`, CPU simple scaling.
    fn spot(&self, types: Vec<usize>, allocation: Allocation, rebalance: bool) -> Member {
        let p = self.s.spot;
        let choice = SpotChoice {
            types,
            allocation,
            rebalance,
        };
        self.member(
            Role::Spot,
            Purchase::spot(choice),
            p.min,
            Scaling::Simple(SimpleScaling::new(p)),
        )
    }

    /// The fallback group (on-demand, every type, from 0).
    fn fallback(&self, max: u32) -> Member {
        let s = self.s;
        let f = Fallback::new(s.fallback_period, s.fallback_evaluation_periods, max);
        self.member(
            Role::Fallback,
            Purchase::on_demand(self.all.to_vec()),
            0,
            Scaling::Fallback(f),
        )
    }

    /// One group: an on-demand base, spot above it, target tracking.
    fn mixed(&self) -> Member {
        let m = &self.s.mixed;
        let purchase = Purchase {
            on_demand_types: self.all.to_vec(),
            on_demand_base: m.on_demand_base,
            on_demand_percent: m.on_demand_percent,
            spot: Some(SpotChoice {
                types: self.all.to_vec(),
                allocation: m.allocation,
                rebalance: m.rebalance,
            }),
        };
        let target = TargetTracking {
            target: m.target_cpu,
            min: m.min,
            max: m.max,
            cooldown_until: 0,
        };
        self.member(Role::Mixed, purchase, m.min, Scaling::Target(target))
    }
}

impl Fleet {
    fn new(kind: Kind, s: &Settings, market: &Market) -> Self {
        let all: Vec<usize> = (0..market.types.len()).collect();
        let b = Builder {
            s,
            market,
            all: &all,
        };
        let mut members = match kind {
            Kind::Seed => vec![
                b.on_demand(vec![0]),
                b.spot(vec![0], Allocation::Prioritized, false),
            ],
            Kind::TwoGroups => vec![
                b.on_demand(all.clone()),
                b.spot(all.clone(), s.spot_allocation, s.spot_rebalance),
                b.fallback(s.fallback_max.0),
            ],
            Kind::Mixed | Kind::MixedFallback => vec![b.mixed()],
        };
        if kind == Kind::MixedFallback {
            members.push(b.fallback(s.fallback_max.1));
        }
        Fleet { members }
    }

    /// Two-minute notices this minute; how many.
    fn notices(&mut self, market: &Market, t: u32) -> u32 {
        let mut n = 0;
        for m in &mut self.members {
            m.group.instances.retain(|i| i.leaves.is_none_or(|l| l > t));
            for i in &mut m.group.instances {
                if let (Some(pool), None) = (i.pool, i.leaves) {
                    if market.notice(pool, i.slot, t) {
                        i.leaves = Some(t + 2);
                        n += 1;
                    }
                }
            }
        }
        n
    }

    fn reconcile(&mut self, market: &Market, t: u32, boot: u32) {
        for m in &mut self.members {
            m.group.reconcile(market, t, boot);
        }
    }

    fn spot_side(&self) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| matches!(m.role, Role::Spot | Role::Mixed))
    }

    /// Serving capacity by market, CPU datapoints, the fallback's sample.
    fn measure(&mut self, t: u32, demand: f64) -> Minute {
        let mut minute = Minute {
            demand,
            ..Minute::default()
        };
        for m in &self.members {
            let (od, spot) = m.group.serving(t);
            match m.role {
                Role::Fallback => {
                    minute.fallback += od;
                    minute.fallback_desired = m.group.desired;
                }
                _ => {
                    minute.on_demand += od;
                    minute.spot += spot;
                }
            }
        }
        if let Some(side) = self.spot_side() {
            let (in_service, pending) = side.group.in_service_and_pending(t);
            minute.spot_side = GroupNow {
                desired: side.group.desired,
                in_service,
                pending,
            };
        }
        let serving = minute.on_demand + minute.fallback + minute.spot;
        minute.short = demand > f64::from(serving) + 1e-9;
        let cpu = if serving == 0 {
            100.0
        } else {
            (demand / f64::from(serving) * 100.0).min(100.0)
        };
        let holds =
            self.members.iter().any(|m| m.role == Role::Fallback) && minute.fallback_desired > 0;
        for m in &mut self.members {
            let serves = m.group.instances.iter().any(|i| i.serving(t));
            m.cpu.0.push(serves.then_some(cpu));
            m.held.push(m.role == Role::Spot && holds);
            if let Scaling::Fallback(f) = &mut m.scaling {
                f.samples.push(Sample {
                    spot_side: minute.spot_side,
                    fallback_desired: m.group.desired,
                });
            }
        }
        minute
    }

    /// Each group's policy decides its desired capacity for the next minute.
    fn scale(&mut self, t: u32, boot: u32) {
        for m in &mut self.members {
            let (in_service, pending) = m.group.in_service_and_pending(t);
            let now = GroupNow {
                desired: m.group.desired,
                in_service,
                pending,
            };
            m.group.desired = match &mut m.scaling {
                Scaling::Simple(s) => s.decide(&m.cpu, &m.held, now.desired, t, boot),
                Scaling::Target(tt) => tt.decide(&m.cpu, now, t),
                Scaling::Fallback(f) => f.decide(now.desired, t),
            };
        }
    }
}

/// Running totals of a run.
struct Tally {
    report: Report,
    hour: Hour,
    streak: u32,
    interruptions: u32,
    /// Instance-minutes by market: on-demand, fallback, spot.
    minutes_by_market: [u64; 3],
}

impl Tally {
    fn new(kind: Kind) -> Self {
        Tally {
            report: Report {
                strategy: kind,
                label: kind.label(),
                minutes: 0,
                cost: 0.0,
                all_on_demand_cost: 0.0,
                saving_percent: 0.0,
                shortfall_instance_minutes: 0.0,
                worst_gap_minutes: 0,
                short_minutes: 0,
                on_demand_instance_hours: 0.0,
                fallback_instance_hours: 0.0,
                spot_instance_hours: 0.0,
                interruptions: 0,
                peak_instances: 0,
                fallback_changes: 0,
                hours: Vec::new(),
                timeline: Vec::new(),
            },
            hour: Hour::default(),
            streak: 0,
            interruptions: 0,
            minutes_by_market: [0; 3],
        }
    }

    /// This minute's bill: every instance launched and not yet gone.
    fn bill(&mut self, fleet: &Fleet, market: &Market, t: u32) {
        let mut instances = 0;
        for m in &fleet.members {
            for i in &m.group.instances {
                let od = market.types[i.type_index].on_demand_price / 60.0;
                let cost = i.pool.map_or(od, |p| market.spot_price(p, t) / 60.0);
                self.report.cost += cost;
                self.hour.cost += cost;
                self.report.all_on_demand_cost += od;
                let market_index = match (m.role, i.pool) {
                    (_, Some(_)) => 2,
                    (Role::Fallback, None) => 1,
                    (_, None) => 0,
                };
                self.minutes_by_market[market_index] += 1;
                instances += 1;
            }
        }
        self.report.peak_instances = self.report.peak_instances.max(instances);
    }

    fn add(&mut self, m: Minute) {
        let r = &mut self.report;
        let t = r.minutes;
        if let Some(last) = r.timeline.last() {
            r.fallback_changes += u32::from(last.fallback_desired != m.fallback_desired);
        }
        if m.short {
            let serving = f64::from(m.on_demand + m.fallback + m.spot);
            r.shortfall_instance_minutes += m.demand - serving;
            r.short_minutes += 1;
            self.hour.short_minutes += 1;
            self.streak += 1;
            r.worst_gap_minutes = r.worst_gap_minutes.max(self.streak);
        } else {
            self.streak = 0;
        }
        self.hour.demand += m.demand;
        self.hour.on_demand += f64::from(m.on_demand);
        self.hour.fallback += f64::from(m.fallback);
        self.hour.spot += f64::from(m.spot);
        r.timeline.push(m);
        r.minutes += 1;
        if t % 60 == 59 {
            self.close_hour(t);
        }
    }

    fn close_hour(&mut self, t: u32) {
        let n = f64::from(t % 60 + 1);
        let mut h = std::mem::take(&mut self.hour);
        h.hour = t / 60;
        h.demand /= n;
        h.on_demand /= n;
        h.fallback /= n;
        h.spot /= n;
        self.report.hours.push(h);
    }

    fn report(mut self) -> Report {
        let t = self.report.minutes;
        if !t.is_multiple_of(60) {
            self.close_hour(t - 1);
        }
        let r = &mut self.report;
        let hours = |m: u64| m as f64 / 60.0;
        r.on_demand_instance_hours = hours(self.minutes_by_market[0]);
        r.fallback_instance_hours = hours(self.minutes_by_market[1]);
        r.spot_instance_hours = hours(self.minutes_by_market[2]);
        r.interruptions = self.interruptions;
        r.saving_percent = if r.all_on_demand_cost > 0.0 {
            (1.0 - r.cost / r.all_on_demand_cost) * 100.0
        } else {
            0.0
        };
        self.report
    }
}
