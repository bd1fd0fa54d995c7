//! The capacity simulator's picture: the strategies one above the other on
//! the same time axis, each with its serving capacity stacked by market
//! (on-demand, fallback, spot), the demand line, the capacity events shaded
//! behind and the minutes short of demand marked beneath, with each one's
//! cost, saving and shortfall beside its name.

use std::fmt::Write;

use crate::fleet::{Minute, Report};
use crate::market::{zone_name, Shortage};
use crate::svg::{esc, nice_max, open};

const W: f64 = 960.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 80.0;
const PANEL: f64 = 120.0;
const GAP: f64 = 46.0;
/// Minutes per drawn point.
const BUCKET: usize = 5;
const OD: &str = "#d9534f";
const FALLBACK: &str = "#f0ad4e";
const SPOT: &str = "#5cb85c";
const DEMAND: &str = "#222";
const EVENT: &str = "#e6e6ef";
const SHORT: &str = "#b00020";

fn height(panels: usize) -> f64 {
    TOP + panels as f64 * (PANEL + GAP) + 50.0
}

/// The chart of `reports` (one panel each) over `events`; `title` and
/// `subtitle` on top (escaped).
pub fn chart(reports: &[Report], events: &[Shortage], title: &str, subtitle: &str) -> String {
    let minutes = reports
        .iter()
        .map(|r| r.timeline.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let frame = Frame {
        minutes: minutes as f64,
        max: nice_max(peak(reports)),
    };
    let h = height(reports.len());
    let mut out = String::new();
    open(&mut out, (W, h), LEFT, title, subtitle);
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="56" fill="dimgray">capacity serving by market (instances) against demand; shaded: spot capacity events; red: minutes short of demand</text>"#
    );
    for (i, r) in reports.iter().enumerate() {
        let top = TOP + i as f64 * (PANEL + GAP) + 18.0;
        panel(&mut out, &frame, r, events, top, i == 0);
    }
    // Under the last panel's short-of-demand marks.
    let bottom = TOP + reports.len() as f64 * (PANEL + GAP) - GAP + 18.0;
    hour_labels(&mut out, &frame, bottom + 24.0);
    legend(&mut out, h - 14.0);
    out.push_str("</svg>\n");
    out
}

/// The common axes of the panels.
struct Frame {
    minutes: f64,
    max: f64,
}

impl Frame {
    fn x(&self, minute: f64) -> f64 {
        LEFT + minute / self.minutes * (W - LEFT - RIGHT)
    }
}

fn peak(reports: &[Report]) -> f64 {
    reports
        .iter()
        .flat_map(|r| r.timeline.chunks(BUCKET))
        .map(|c| {
            let (cap, demand) = bucket(c);
            cap.iter().sum::<f64>().max(demand)
        })
        .fold(1.0, f64::max)
}

/// Average serving capacity by market (on-demand, fallback, spot) and
/// demand over a few minutes.
fn bucket(minutes: &[Minute]) -> ([f64; 3], f64) {
    let n = minutes.len().max(1) as f64;
    let mut cap = [0.0; 3];
    let mut demand = 0.0;
    for m in minutes {
        cap[0] += f64::from(m.on_demand);
        cap[1] += f64::from(m.fallback);
        cap[2] += f64::from(m.spot);
        demand += m.demand;
    }
    (cap.map(|c| c / n), demand / n)
}

fn panel(out: &mut String, f: &Frame, r: &Report, events: &[Shortage], top: f64, first: bool) {
    let y = |v: f64| top + PANEL - v / f.max * PANEL;
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="{:.1}"><tspan font-weight="bold">{}</tspan><tspan fill="dimgray">&#160;— cost ${:.2} (saving {:.1}% against all on-demand), shortfall {:.1} instance-minutes, worst gap {} min</tspan></text>"#,
        top - 6.0,
        esc(r.label),
        r.cost,
        r.saving_percent,
        r.shortfall_instance_minutes,
        r.worst_gap_minutes
    );
    for e in events {
        let (x0, x1) = (
            f.x(f64::from(e.start)),
            f.x(f64::from(e.end).min(f.minutes)),
        );
        let _ = writeln!(
            out,
            r#"<rect x="{x0:.1}" y="{top:.1}" width="{:.1}" height="{PANEL}" fill="{EVENT}"/>"#,
            (x1 - x0).max(0.0)
        );
        if first {
            let what = format!(
                "{} in {}",
                e.instance_type.as_deref().unwrap_or("all types"),
                e.zone.map_or("all zones".to_string(), zone_name)
            );
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" font-size="10" fill="dimgray">{}</text>"#,
                x0 + 2.0,
                top + 11.0,
                esc(&what)
            );
        }
    }
    grid(out, f, top);
    areas(out, f, r, &y);
    short_ticks(out, f, r, top + PANEL + 2.0);
}

fn grid(out: &mut String, f: &Frame, top: f64) {
    for k in 0..=2 {
        let v = f.max * f64::from(k) / 2.0;
        let y = top + PANEL - v / f.max * PANEL;
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/>"##,
            W - RIGHT
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="dimgray">{}</text>"#,
            LEFT - 6.0,
            y + 4.0,
            crate::text::fmt_num(v)
        );
    }
}

/// Stacked areas (on-demand, fallback above it, spot on top) and demand.
fn areas(out: &mut String, f: &Frame, r: &Report, y: &dyn Fn(f64) -> f64) {
    let buckets: Vec<(f64, [f64; 3], f64)> = r
        .timeline
        .chunks(BUCKET)
        .enumerate()
        .map(|(i, c)| {
            let (cap, demand) = bucket(c);
            ((i * BUCKET) as f64 + c.len() as f64 / 2.0, cap, demand)
        })
        .collect();
    let stacked = |upto: usize, b: &[f64; 3]| b[..upto].iter().sum::<f64>();
    for (layer, color) in [(1, OD), (2, FALLBACK), (3, SPOT)] {
        let mut pts = String::new();
        for (m, cap, _) in &buckets {
            let _ = write!(pts, "{:.1},{:.1} ", f.x(*m), y(stacked(layer, cap)));
        }
        for (m, cap, _) in buckets.iter().rev() {
            let _ = write!(pts, "{:.1},{:.1} ", f.x(*m), y(stacked(layer - 1, cap)));
        }
        let _ = writeln!(
            out,
            r#"<polygon points="{}" fill="{color}" fill-opacity="0.85"/>"#,
            pts.trim_end()
        );
    }
    let line: Vec<String> = buckets
        .iter()
        .map(|(m, _, d)| format!("{:.1},{:.1}", f.x(*m), y(*d)))
        .collect();
    let _ = writeln!(
        out,
        r#"<polyline points="{}" fill="none" stroke="{DEMAND}" stroke-width="1.5" stroke-dasharray="5,3"/>"#,
        line.join(" ")
    );
}

/// A red bar under each run of short minutes.
fn short_ticks(out: &mut String, f: &Frame, r: &Report, y: f64) {
    let mut start = None;
    for (t, m) in r
        .timeline
        .iter()
        .enumerate()
        .chain([(r.timeline.len(), &Minute::default())])
    {
        match (m.short, start) {
            (true, None) => start = Some(t),
            (false, Some(s)) => {
                let (x0, x1) = (f.x(s as f64), f.x(t as f64));
                let _ = writeln!(
                    out,
                    r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="6" fill="{SHORT}"><title>{} min short from minute {s}</title></rect>"#,
                    (x1 - x0).max(1.5),
                    t - s
                );
                start = None;
            }
            _ => {}
        }
    }
}

fn hour_labels(out: &mut String, f: &Frame, y: f64) {
    let hours = (f.minutes / 60.0).ceil() as u32;
    let step = (hours / 12).max(1);
    for h in (0..=hours).step_by(step as usize) {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{y:.1}" text-anchor="middle" fill="dimgray">{:02}:00</text>"#,
            f.x(f64::from(h * 60).min(f.minutes)),
            h % 24
        );
    }
}

fn legend(out: &mut String, y: f64) {
    let mut x = LEFT;
    for (color, label) in [
        (OD, "on-demand"),
        (FALLBACK, "on-demand fallback"),
        (SPOT, "spot"),
        (EVENT, "spot capacity event"),
        (SHORT, "short of demand"),
    ] {
        let _ = writeln!(
            out,
            r#"<rect x="{x}" y="{:.1}" width="14" height="10" fill="{color}"/>"#,
            y - 9.0
        );
        let _ = writeln!(out, r#"<text x="{}" y="{y}">{label}</text>"#, x + 20.0);
        x += 40.0 + label.len() as f64 * 6.5;
    }
    let _ = writeln!(
        out,
        r#"<line x1="{x}" y1="{:.1}" x2="{}" y2="{:.1}" stroke="{DEMAND}" stroke-width="1.5" stroke-dasharray="5,3"/>"#,
        y - 4.0,
        x + 14.0,
        y - 4.0
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{y}">demand (instances at 100% CPU)</text>"#,
        x + 20.0
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Kind;

    #[test]
    fn chart_is_well_formed_and_marks_short_minutes() {
        let minute = |short| Minute {
            demand: 2.0,
            on_demand: 1,
            fallback: 0,
            spot: if short { 0 } else { 3 },
            short,
            ..Minute::default()
        };
        let mut timeline = vec![minute(false); 30];
        timeline.extend([minute(true); 4]);
        timeline.extend([minute(false); 30]);
        let report = Report {
            strategy: Kind::Seed,
            label: "seed <&>",
            minutes: 64,
            cost: 1.0,
            all_on_demand_cost: 2.0,
            saving_percent: 50.0,
            shortfall_instance_minutes: 4.0,
            worst_gap_minutes: 4,
            short_minutes: 4,
            on_demand_instance_hours: 1.0,
            fallback_instance_hours: 0.0,
            spot_instance_hours: 1.0,
            interruptions: 1,
            peak_instances: 4,
            fallback_changes: 0,
            hours: vec![],
            timeline,
        };
        let events = [Shortage {
            start: 30,
            end: 34,
            instance_type: Some("c5.large".into()),
            zone: None,
        }];
        let svg = chart(&[report], &events, "a < b", "c & d");
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("a &lt; b") && svg.contains("c &amp; d"));
        assert!(svg.contains("seed &lt;&amp;&gt;"));
        assert!(svg.contains("4 min short from minute 30"));
        assert!(svg.contains("c5.large in all zones"));
        assert!(!svg.contains("NaN"));
    }
}
