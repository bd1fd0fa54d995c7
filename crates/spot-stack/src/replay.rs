//! The bidding market, replayed (`simulate --model bidding`): the seed's
//! two groups minute by minute on a spot price history, spot reclaimed
//! whenever its price is above the maximum price, as before 2017. CloudWatch
//! CPU alarms over the configured periods, simple scaling with cooldowns,
//! boot time. Pure: no clock, no I/O, same input → same output. Today's
//! market, where capacity rather than price takes spot away, is
//! [`crate::fleet`]'s.
//!
//! The model:
//! - Demand is CPU work in instance-equivalents (2.5 = two and a half
//!   instances at 100% CPU). The load balancer spreads it evenly over the
//!   instances in service, so both groups see the same average CPU
//!   (`demand / in service`, capped at 100%); a group with nothing in service
//!   has no datapoints and its alarms do not fire.
//! - An alarm fires when each of its last `evaluation_periods` windows of
//!   `period` seconds averages above (below) the threshold. While it stays in
//!   alarm it invokes the policy every minute, as CloudWatch does for Auto
//!   Scaling actions; the policy acts unless the group is in cooldown. The
//!   cooldown of a scale-up starts when its instances are in service.
//! - Each group launches instances to reach its desired capacity. Instances
//!   are billed from launch and serve after `boot_seconds` (rounded up to
//!   whole minutes). Scale-in terminates booting instances first.
//! - While the spot price is above the max price, every spot instance is
//!   reclaimed and spot launches fail; the spot group keeps its desired
//!   capacity and relaunches when the price comes back down.
//! - "All on-demand" prices the same instance-minutes at the on-demand price.

use serde::Serialize;

use crate::config::GroupPolicy;
use crate::series::Series;

/// Everything the simulation needs besides the two series.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub on_demand: GroupPolicy,
    pub spot: GroupPolicy,
    pub boot_seconds: u32,
    /// USD per instance-hour.
    pub on_demand_price: f64,
    /// Spot instances are reclaimed while the spot price is above this.
    pub max_price: f64,
}

/// One hour of the run, for the chart and `--output json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Hour {
    pub hour: u32,
    pub on_demand_cost: f64,
    pub spot_cost: f64,
    /// Average instances billed (booting or in service).
    pub on_demand_instances: f64,
    pub spot_instances: f64,
    /// Average demand in instance-equivalents.
    pub demand: f64,
    pub short_minutes: u32,
}

/// The outcome of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub minutes: u32,
    pub cost: f64,
    /// The same instance-minutes at the on-demand price.
    pub all_on_demand_cost: f64,
    /// `1 - cost / all_on_demand_cost`, in percent.
    pub saving_percent: f64,
    pub on_demand_instance_hours: f64,
    pub spot_instance_hours: f64,
    /// Demand in instance-hours (work done at 100% CPU).
    pub demand_instance_hours: f64,
    /// Minutes in which demand exceeded the capacity in service.
    pub short_minutes: u32,
    /// The longest run of consecutive short minutes.
    pub longest_short_streak: u32,
    /// Minutes in which spot instances were reclaimed.
    pub reclaim_events: u32,
    pub spot_instances_reclaimed: u32,
    pub on_demand_scale_ups: u32,
    pub on_demand_scale_downs: u32,
    pub spot_scale_ups: u32,
    pub spot_scale_downs: u32,
    pub peak_instances: u32,
    pub hours: Vec<Hour>,
}

struct Group {
    policy: GroupPolicy,
    desired: u32,
    /// Minute at which each launched instance is in service.
    instances: Vec<u32>,
    cooldown_until: u32,
    cpu: Vec<Option<f64>>,
    scale_ups: u32,
    scale_downs: u32,
}

impl Group {
    fn new(policy: GroupPolicy) -> Self {
        Self {
            policy,
            desired: policy.min,
            // Warm start: the minimum is running when the trace begins.
            instances: vec![0; policy.min as usize],
            cooldown_until: 0,
            cpu: Vec::new(),
            scale_ups: 0,
            scale_downs: 0,
        }
    }

    fn in_service(&self, t: u32) -> u32 {
        self.instances.iter().filter(|ready| **ready <= t).count() as u32
    }

    fn billed(&self) -> u32 {
        self.instances.len() as u32
    }

    /// Launch to or terminate down to the desired capacity.
    fn reconcile(&mut self, t: u32, boot: u32, can_launch: bool) {
        while (self.instances.len() as u32) > self.desired {
            // Booting ones (latest ready time) go first.
            if let Some((i, _)) = self.instances.iter().enumerate().max_by_key(|(_, r)| **r) {
                self.instances.swap_remove(i);
            }
        }
        if can_launch {
            while (self.instances.len() as u32) < self.desired {
                self.instances.push(t + boot);
            }
        }
    }

    /// Whether the alarm `breach` holds for each of the last evaluation periods.
    fn alarm(&self, breach: impl Fn(f64) -> bool) -> bool {
        let window = (self.policy.period / 60).max(1) as usize;
        let n = self.policy.evaluation_periods.max(1) as usize;
        if self.cpu.len() < window * n {
            return false;
        }
        (0..n).all(|k| {
            let end = self.cpu.len() - k * window;
            let points: Vec<f64> = self.cpu[end - window..end]
                .iter()
                .flatten()
                .copied()
                .collect();
            !points.is_empty() && breach(points.iter().sum::<f64>() / points.len() as f64)
        })
    }

    fn scale(&mut self, t: u32, boot: u32) {
        if t < self.cooldown_until {
            return;
        }
        let p = self.policy;
        if self.alarm(|cpu| cpu > p.scale_up.threshold) {
            let next = self
                .desired
                .saturating_add(p.scale_up.adjustment)
                .min(p.max);
            if next != self.desired {
                self.desired = next;
                self.scale_ups += 1;
            }
            self.cooldown_until = (t + boot).saturating_add(p.scale_up.cooldown.div_ceil(60));
        } else if self.alarm(|cpu| cpu < p.scale_down.threshold) {
            let next = self
                .desired
                .saturating_sub(p.scale_down.adjustment)
                .max(p.min);
            if next != self.desired {
                self.desired = next;
                self.scale_downs += 1;
            }
            self.cooldown_until = t.saturating_add(p.scale_down.cooldown.div_ceil(60));
        }
    }
}

/// Runs the simulation over the demand trace's length.
pub fn run(params: &Params, demand: &Series, spot_price: &Series) -> Report {
    let minutes = demand.len_minutes();
    let mut r = Replay {
        params,
        boot: params.boot_seconds.div_ceil(60),
        od: Group::new(params.on_demand),
        spot: Group::new(params.spot),
        report: Report {
            minutes,
            ..Report::default()
        },
        hour: Hour::default(),
        od_minutes: 0,
        spot_minutes: 0,
        streak: 0,
    };
    for t in 0..minutes {
        r.minute(t, demand.at(t), spot_price.at(t));
        if t % 60 == 59 || t + 1 == minutes {
            r.close_hour(t);
        }
        r.od.scale(t, r.boot);
        r.spot.scale(t, r.boot);
    }
    r.finish()
}

/// A run in progress.
struct Replay<'a> {
    params: &'a Params,
    boot: u32,
    od: Group,
    spot: Group,
    report: Report,
    hour: Hour,
    od_minutes: u64,
    spot_minutes: u64,
    streak: u32,
}

impl Replay<'_> {
    /// Minute `t`: reclaim, launch, serve, bill.
    fn minute(&mut self, t: u32, d: f64, price: f64) {
        let available = price <= self.params.max_price;
        if !available && !self.spot.instances.is_empty() {
            self.report.reclaim_events += 1;
            self.report.spot_instances_reclaimed += self.spot.billed();
            self.spot.instances.clear();
        }
        self.od.reconcile(t, self.boot, true);
        self.spot.reconcile(t, self.boot, available);
        let (od_up, spot_up) = (self.od.in_service(t), self.spot.in_service(t));
        let capacity = od_up + spot_up;
        let cpu = if capacity == 0 {
            100.0
        } else {
            (d / f64::from(capacity) * 100.0).min(100.0)
        };
        self.od.cpu.push((od_up > 0).then_some(cpu));
        self.spot.cpu.push((spot_up > 0).then_some(cpu));
        self.bill(d, price);
        self.count_short(d > f64::from(capacity) + 1e-9);
    }

    fn bill(&mut self, d: f64, price: f64) {
        let (od_billed, spot_billed) = (self.od.billed(), self.spot.billed());
        let report = &mut self.report;
        report.peak_instances = report.peak_instances.max(od_billed + spot_billed);
        self.od_minutes += u64::from(od_billed);
        self.spot_minutes += u64::from(spot_billed);
        let od_cost = f64::from(od_billed) * self.params.on_demand_price / 60.0;
        let spot_cost = f64::from(spot_billed) * price / 60.0;
        report.cost += od_cost + spot_cost;
        report.demand_instance_hours += d / 60.0;
        let hour = &mut self.hour;
        hour.on_demand_cost += od_cost;
        hour.spot_cost += spot_cost;
        hour.on_demand_instances += f64::from(od_billed);
        hour.spot_instances += f64::from(spot_billed);
        hour.demand += d;
    }

    fn count_short(&mut self, short: bool) {
        if short {
            self.report.short_minutes += 1;
            self.hour.short_minutes += 1;
            self.streak += 1;
            self.report.longest_short_streak = self.report.longest_short_streak.max(self.streak);
        } else {
            self.streak = 0;
        }
    }

    fn close_hour(&mut self, t: u32) {
        let n = f64::from(t % 60 + 1);
        let hour = &mut self.hour;
        hour.hour = t / 60;
        hour.on_demand_instances /= n;
        hour.spot_instances /= n;
        hour.demand /= n;
        self.report.hours.push(std::mem::take(hour));
    }

    fn finish(mut self) -> Report {
        let report = &mut self.report;
        report.on_demand_instance_hours = self.od_minutes as f64 / 60.0;
        report.spot_instance_hours = self.spot_minutes as f64 / 60.0;
        report.all_on_demand_cost =
            (self.od_minutes + self.spot_minutes) as f64 / 60.0 * self.params.on_demand_price;
        report.saving_percent = if report.all_on_demand_cost > 0.0 {
            (1.0 - report.cost / report.all_on_demand_cost) * 100.0
        } else {
            0.0
        };
        report.on_demand_scale_ups = self.od.scale_ups;
        report.on_demand_scale_downs = self.od.scale_downs;
        report.spot_scale_ups = self.spot.scale_ups;
        report.spot_scale_downs = self.spot.scale_downs;
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StackConfig;

    fn params() -> Params {
        let c = StackConfig::default();
        Params {
            on_demand: c.on_demand,
            spot: c.spot.group,
            boot_seconds: 75,
            on_demand_price: 0.12,
            max_price: 0.12,
        }
    }

    #[test]
    fn idle_tier_runs_the_two_minimum_instances() {
        let r = run(
            &params(),
            &Series::new(vec![(0, 0.1), (599, 0.1)]).unwrap(),
            &Series::constant(0.02),
        );
        assert_eq!(r.minutes, 600);
        assert!((r.on_demand_instance_hours - 10.0).abs() < 1e-9);
        assert!((r.spot_instance_hours - 10.0).abs() < 1e-9);
        assert!((r.cost - 10.0 * (0.12 + 0.02)).abs() < 1e-9);
        assert_eq!(r.short_minutes, 0);
        assert_eq!(r.hours.len(), 10);
    }

    #[test]
    fn spot_scales_first_and_on_demand_fills_in_when_spot_goes() {
        // Demand 4 all day; spot gone between minutes 300 and 420.
        let demand = Series::new(vec![(0, 4.0), (719, 4.0)]).unwrap();
        let price = Series::new(vec![(0, 0.02), (300, 0.5), (420, 0.02)]).unwrap();
        let r = run(&params(), &demand, &price);
        assert!(r.spot_scale_ups > 0);
        assert!(r.on_demand_scale_ups > 0, "{r:#?}");
        assert_eq!(r.reclaim_events, 1);
        // Before the reclaim on-demand stays at its minimum...
        assert!(
            (r.hours[3].on_demand_instances - 1.0).abs() < 1e-9,
            "{:?}",
            r.hours[3]
        );
        // ...during it on-demand carries the tier...
        assert!(r.hours[6].on_demand_instances >= 4.0, "{:?}", r.hours[6]);
        assert_eq!(r.hours[6].spot_instances, 0.0);
        // ...and afterwards it is phased out again.
        assert!(
            (r.hours[11].on_demand_instances - 1.0).abs() < 1e-9,
            "{:?}",
            r.hours[11]
        );
        assert!(r.saving_percent > 0.0);
    }
}
