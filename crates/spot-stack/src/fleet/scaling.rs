//! What moves a group's desired capacity: the write-up's CPU alarms with
//! simple scaling, target tracking on CPU (the mixed group), and the
//! fallback controller (the fallback group's two alarms).

use crate::config::GroupPolicy;

/// The CPU datapoints of a group, one a minute (`None`: nothing in
/// service, no datapoint).
#[derive(Debug, Clone, Default)]
pub struct Cpu(pub Vec<Option<f64>>);

impl Cpu {
    /// Whether `breach` holds for each of the last `n` windows of `window`
    /// minutes (a window's average over its datapoints; none: no breach; a
    /// window with a `held` minute: no breach).
    fn alarm(&self, window: usize, n: usize, held: &[bool], breach: impl Fn(f64) -> bool) -> bool {
        if self.0.len() < window * n {
            return false;
        }
        (0..n).all(|k| {
            let end = self.0.len() - k * window;
            let is_held = held
                .get(end - window..end)
                .is_some_and(|h| h.contains(&true));
            let points: Vec<f64> = self.0[end - window..end]
                .iter()
                .flatten()
                .copied()
                .collect();
            !is_held
                && !points.is_empty()
                && breach(points.iter().sum::<f64>() / points.len() as f64)
        })
    }

    /// The last `n` datapoints, if all are there.
    fn last(&self, n: usize) -> Option<Vec<f64>> {
        if self.0.len() < n {
            return None;
        }
        self.0[self.0.len() - n..].iter().copied().collect()
    }
}

/// The write-up's simple scaling: an alarm per direction, a cooldown after
/// each activity (a scale-up's starts once its instances serve).
#[derive(Debug, Clone)]
pub struct SimpleScaling {
    pub policy: GroupPolicy,
    pub cooldown_until: u32,
    pub scale_ups: u32,
    pub scale_downs: u32,
}

impl SimpleScaling {
    pub fn new(policy: GroupPolicy) -> Self {
        SimpleScaling {
            policy,
            cooldown_until: 0,
            scale_ups: 0,
            scale_downs: 0,
        }
    }

    /// The new desired capacity after minute `t`; `held`: the minutes the
    /// scale-in alarm reads 100% (the fallback group had capacity).
    pub fn decide(&mut self, cpu: &Cpu, held: &[bool], desired: u32, t: u32, boot: u32) -> u32 {
        if t < self.cooldown_until {
            return desired;
        }
        let p = self.policy;
        let window = (p.period / 60).max(1) as usize;
        let n = p.evaluation_periods.max(1) as usize;
        if cpu.alarm(window, n, &[], |c| c > p.scale_up.threshold) {
            self.cooldown_until = (t + boot).saturating_add(p.scale_up.cooldown.div_ceil(60));
            let next = desired.saturating_add(p.scale_up.adjustment).min(p.max);
            self.scale_ups += u32::from(next != desired);
            return next;
        }
        if cpu.alarm(window, n, held, |c| c < p.scale_down.threshold) {
            self.cooldown_until = t.saturating_add(p.scale_down.cooldown.div_ceil(60));
            let next = desired.saturating_sub(p.scale_down.adjustment).max(p.min);
            self.scale_downs += u32::from(next != desired);
            return next;
        }
        desired
    }
}

/// Target tracking on average CPU, as EC2 Auto Scaling does it: out when
/// the last 3 one-minute datapoints are above the target (to the size that
/// brings CPU back to it, not while instances still boot), in when the last
/// 15 are below 90% of it, then no scale-in for 5 minutes. The new size is
/// the group's current capacity (in service and booting, not what it fails
/// to launch) scaled by CPU over the target; a scale-in removes at most a
/// tenth of the desired capacity (at least one unit). Assumptions: AWS
/// documents the ratio, and says only that it scales in "more gradually".
#[derive(Debug, Clone)]
pub struct TargetTracking {
    pub target: f64,
    pub min: u32,
    pub max: u32,
    pub cooldown_until: u32,
}

impl TargetTracking {
    pub fn decide(&mut self, cpu: &Cpu, now: GroupNow, t: u32) -> u32 {
        let current = f64::from(now.in_service + now.pending);
        let size = |avg: f64| (current * avg / self.target).ceil() as u32;
        if let Some(points) = cpu.last(3) {
            if now.pending == 0 && points.iter().all(|c| *c > self.target) {
                let avg = points.iter().sum::<f64>() / 3.0;
                return now.desired.max(size(avg)).min(self.max);
            }
        }
        if t < self.cooldown_until {
            return now.desired;
        }
        if let Some(points) = cpu.last(15) {
            if points.iter().all(|c| *c < 0.9 * self.target) {
                let avg = points.iter().sum::<f64>() / 15.0;
                let gradual = now.desired - (now.desired / 10).max(1).min(now.desired);
                let next = size(avg).max(gradual).max(self.min);
                if next < now.desired {
                    self.cooldown_until = t + 5;
                    return next;
                }
            }
        }
        now.desired
    }
}

/// A group's sizes at one minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupNow {
    pub desired: u32,
    pub in_service: u32,
    pub pending: u32,
}

/// One minute of the metrics the fallback alarms read: the spot side's
/// group and the fallback group's desired capacity.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub spot_side: GroupNow,
    pub fallback_desired: u32,
}

/// The fallback group's two alarms and their step policy
/// (`crate::template`'s fallback, minute by minute): group metrics come a
/// minute late; an alarm is in ALARM while each of its last
/// `evaluation_periods` periods breaches; while in ALARM it sets the
/// fallback group to the largest size its datapoints ask for (rounded up
/// to a whole step).
#[derive(Debug, Clone)]
pub struct Fallback {
    /// Minutes per period.
    pub period: u32,
    pub evaluation_periods: u32,
    pub max: u32,
    /// Size units per step (1 unless `max` needs more than 19 steps).
    pub step: u32,
    pub samples: Vec<Sample>,
}

/// Group metrics reach CloudWatch about a minute after they are measured.
pub const METRIC_DELAY: u32 = 1;

impl Fallback {
    pub fn new(period_seconds: u32, evaluation_periods: u32, max: u32) -> Self {
        Fallback {
            period: (period_seconds / 60).max(1),
            evaluation_periods: evaluation_periods.max(1),
            max,
            step: Self::step_for(max),
            samples: Vec::new(),
        }
    }

    /// Units per step of the step policy for a group of `max` (20 steps at
    /// most, the first for 0).
    pub fn step_for(max: u32) -> u32 {
        max.div_ceil(19).max(1)
    }

    /// The fallback group's new desired capacity after minute `t`.
    pub fn decide(&self, desired: u32, t: u32) -> u32 {
        let Some(periods) = self.periods(t) else {
            return desired;
        };
        let out: Option<Vec<i64>> = periods.iter().map(shortfall).collect();
        let back: Option<Vec<i64>> = periods.iter().map(surplus).collect();
        let target = match (out, back) {
            (Some(v), _) | (None, Some(v)) => v.into_iter().max().unwrap_or(0),
            (None, None) => return desired,
        };
        let target = u32::try_from(target.max(0)).unwrap_or(u32::MAX);
        target
            .div_ceil(self.step)
            .saturating_mul(self.step)
            .min(self.max)
    }

    /// The last `evaluation_periods` whole periods that have reached
    /// CloudWatch by minute `t`, each aggregated as the alarms' statistics
    /// do: (for out, for in).
    fn periods(&self, t: u32) -> Option<Vec<(Sample, Sample)>> {
        let seen = t.checked_sub(METRIC_DELAY)? + 1;
        let complete = seen.min(self.samples.len() as u32) / self.period;
        let first = complete.checked_sub(self.evaluation_periods)?;
        Some(
            (first..complete)
                .map(|k| {
                    let from = (k * self.period) as usize;
                    aggregate(&self.samples[from..from + self.period as usize])
                })
                .collect(),
        )
    }
}

/// The out alarm's statistics over a period (least desired, most there)
/// and the in alarm's (most desired, least there).
fn aggregate(samples: &[Sample]) -> (Sample, Sample) {
    let min = |f: fn(&Sample) -> u32| samples.iter().map(f).min().unwrap_or(0);
    let max = |f: fn(&Sample) -> u32| samples.iter().map(f).max().unwrap_or(0);
    let desired: fn(&Sample) -> u32 = |s| s.spot_side.desired;
    let in_service: fn(&Sample) -> u32 = |s| s.spot_side.in_service;
    let pending: fn(&Sample) -> u32 = |s| s.spot_side.pending;
    let fallback: fn(&Sample) -> u32 = |s| s.fallback_desired;
    let out = Sample {
        spot_side: GroupNow {
            desired: min(desired),
            in_service: max(in_service),
            pending: max(pending),
        },
        fallback_desired: max(fallback),
    };
    let back = Sample {
        spot_side: GroupNow {
            desired: max(desired),
            in_service: min(in_service),
            pending: min(pending),
        },
        fallback_desired: min(fallback),
    };
    (out, back)
}

/// The out alarm's expression: the shortfall if it exceeds the fallback
/// group by a unit or more.
fn shortfall((out, _): &(Sample, Sample)) -> Option<i64> {
    let s = out.spot_side;
    let short = i64::from(s.desired) - i64::from(s.in_service) - i64::from(s.pending);
    (short - i64::from(out.fallback_desired) >= 1).then_some(short)
}

/// The in alarm's expression: what spot does not yet serve, if the
/// fallback group exceeds it by a unit or more.
fn surplus((_, back): &(Sample, Sample)) -> Option<i64> {
    let s = back.spot_side;
    let unserved = i64::from(s.desired) - i64::from(s.in_service);
    (i64::from(back.fallback_desired) - unserved >= 1 && unserved >= 0).then_some(unserved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(desired: u32, in_service: u32, pending: u32, fallback: u32) -> Sample {
        Sample {
            spot_side: GroupNow {
                desired,
                in_service,
                pending,
            },
            fallback_desired: fallback,
        }
    }

    #[test]
    fn a_booting_scale_out_is_no_shortfall() {
        let mut f = Fallback::new(60, 2, 12);
        f.samples = vec![sample(6, 4, 2, 0); 5];
        assert_eq!(f.decide(0, 4), 0);
    }

    #[test]
    fn a_shortfall_comes_in_after_two_periods_and_the_delay() {
        let mut f = Fallback::new(60, 2, 12);
        f.samples = vec![sample(6, 6, 0, 0), sample(6, 2, 0, 0), sample(6, 2, 0, 0)];
        // Minute 2's sample reaches CloudWatch at minute 3.
        assert_eq!(f.decide(0, 2), 0);
        assert_eq!(f.decide(0, 3), 4);
        // Covered: the out alarm stays quiet, the in alarm too.
        f.samples.extend([sample(6, 2, 0, 4); 3]);
        assert_eq!(f.decide(4, 6), 4);
    }

    #[test]
    fn the_fallback_leaves_once_spot_serves_not_while_it_boots() {
        let mut f = Fallback::new(60, 2, 12);
        f.samples = vec![sample(6, 2, 4, 4); 4];
        assert_eq!(f.decide(4, 4), 4);
        f.samples.extend([sample(6, 6, 0, 4); 2]);
        assert_eq!(f.decide(4, 6), 0);
    }

    #[test]
    fn large_groups_round_up_to_a_whole_step() {
        let mut f = Fallback::new(60, 1, 100);
        assert_eq!(f.step, 6);
        f.samples = vec![sample(50, 3, 0, 0); 3];
        assert_eq!(f.decide(0, 2), 48);
    }
}
