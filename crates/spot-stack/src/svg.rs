//! A hand-written SVG chart of a bidding replay, by hour: cost stacked by market
//! on top (the picture the write-up's team had from Netflix's Ice), capacity
//! by market with the demand line below.

use std::fmt::Write;

use crate::replay::{Hour, Report};

const W: f64 = 960.0;
const H: f64 = 560.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const OD_COLOR: &str = "#d9534f";
const SPOT_COLOR: &str = "#5cb85c";
const DEMAND_COLOR: &str = "#222";

struct Panel {
    top: f64,
    height: f64,
    max: f64,
}

impl Panel {
    fn y(&self, v: f64) -> f64 {
        self.top + self.height - v / self.max * self.height
    }
}

/// A "nice" axis maximum (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k) above `v`.
pub(crate) fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|m| *m >= v * 1.0001)
        .unwrap_or(10.0 * mag)
}

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The hours' columns across the plot.
struct Columns {
    bar_w: f64,
}

impl Columns {
    fn new(hours: usize) -> Self {
        Columns {
            bar_w: (W - LEFT - RIGHT) / hours.max(1) as f64,
        }
    }

    fn x(&self, i: usize) -> f64 {
        LEFT + i as f64 * self.bar_w
    }

    fn mid(&self, i: usize) -> f64 {
        self.x(i) + self.bar_w / 2.0
    }
}

/// Renders the chart. `title` goes on top (escaped).
pub fn chart(report: &Report, title: &str) -> String {
    let hours = &report.hours;
    let cols = Columns::new(hours.len());
    let mut out = String::new();
    header(&mut out, report, title);
    let cost = cost_panel(&mut out, hours, &cols);
    let cap = capacity_panel(&mut out, hours, &cols);
    // Hour labels under both panels.
    let step = (hours.len() / 12).max(1);
    for (i, h) in hours.iter().enumerate().step_by(step) {
        for panel in [&cost, &cap] {
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="dimgray">{:02}:00</text>"#,
                cols.mid(i),
                panel.top + panel.height + 18.0,
                h.hour % 24
            );
        }
    }
    legend(&mut out);
    out.push_str("</svg>\n");
    out
}

fn header(out: &mut String, report: &Report, title: &str) {
    let subtitle = format!(
        "cost ${:.2} vs ${:.2} all on-demand (saving {:.1}%), {} minutes short of capacity",
        report.cost, report.all_on_demand_cost, report.saving_percent, report.short_minutes
    );
    open(out, (W, H), LEFT, title, &subtitle);
}

/// The `<svg>` element of a `width` × `height` chart on white, with its
/// title and a grey subtitle at `left` (both escaped).
pub(crate) fn open(
    out: &mut String,
    (width, height): (f64, f64),
    left: f64,
    title: &str,
    subtitle: &str,
) {
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="{width}" height="{height}" fill="white"/>"#
    );
    let _ = writeln!(
        out,
        r#"<text x="{left}" y="22" font-size="15" font-weight="bold">{}</text>"#,
        esc(title)
    );
    let _ = writeln!(
        out,
        r#"<text x="{left}" y="40" fill="dimgray">{}</text>"#,
        esc(subtitle)
    );
}

/// Hourly cost stacked by market.
fn cost_panel(out: &mut String, hours: &[Hour], cols: &Columns) -> Panel {
    let cost_max = nice_max(
        hours
            .iter()
            .map(|h| h.on_demand_cost + h.spot_cost)
            .fold(0.0, f64::max),
    );
    let cost = Panel {
        top: 70.0,
        height: 190.0,
        max: cost_max,
    };
    axis(out, &cost, "USD per hour", |v| {
        format!("${}", crate::text::fmt_num(v))
    });
    let bw = (cols.bar_w - 2.0).max(1.0);
    for (i, h) in hours.iter().enumerate() {
        let y_od = cost.y(h.on_demand_cost);
        let y_all = cost.y(h.on_demand_cost + h.spot_cost);
        let _ = writeln!(
            out,
            r#"<rect x="{:.1}" y="{y_od:.1}" width="{bw:.1}" height="{:.1}" fill="{OD_COLOR}"><title>hour {}: on-demand ${:.3}</title></rect>"#,
            cols.x(i) + 1.0,
            cost.top + cost.height - y_od,
            h.hour,
            h.on_demand_cost
        );
        let _ = writeln!(
            out,
            r#"<rect x="{:.1}" y="{y_all:.1}" width="{bw:.1}" height="{:.1}" fill="{SPOT_COLOR}"><title>hour {}: spot ${:.3}</title></rect>"#,
            cols.x(i) + 1.0,
            y_od - y_all,
            h.hour,
            h.spot_cost
        );
    }
    cost
}

/// Capacity by market (on-demand below, spot above), demand, short hours.
fn capacity_panel(out: &mut String, hours: &[Hour], cols: &Columns) -> Panel {
    let cap_max = nice_max(
        hours
            .iter()
            .map(|h| (h.on_demand_instances + h.spot_instances).max(h.demand))
            .fold(0.0, f64::max),
    );
    let cap = Panel {
        top: 320.0,
        height: 190.0,
        max: cap_max,
    };
    axis(out, &cap, "instances", crate::text::fmt_num);
    let area = |lower: &dyn Fn(usize) -> f64, upper: &dyn Fn(usize) -> f64| {
        let mut pts = String::new();
        for i in 0..hours.len() {
            let _ = write!(pts, "{:.1},{:.1} ", cols.mid(i), cap.y(upper(i)));
        }
        for i in (0..hours.len()).rev() {
            let _ = write!(pts, "{:.1},{:.1} ", cols.mid(i), cap.y(lower(i)));
        }
        pts
    };
    let od = |i: usize| hours[i].on_demand_instances;
    let total = |i: usize| hours[i].on_demand_instances + hours[i].spot_instances;
    let zero = |_: usize| 0.0;
    for (lower, upper, color) in [
        (
            &zero as &dyn Fn(usize) -> f64,
            &od as &dyn Fn(usize) -> f64,
            OD_COLOR,
        ),
        (&od, &total, SPOT_COLOR),
    ] {
        let _ = writeln!(
            out,
            r#"<polygon points="{}" fill="{color}" fill-opacity="0.85"/>"#,
            area(lower, upper).trim_end()
        );
    }
    let demand: Vec<String> = hours
        .iter()
        .enumerate()
        .map(|(i, h)| format!("{:.1},{:.1}", cols.mid(i), cap.y(h.demand)))
        .collect();
    let _ = writeln!(
        out,
        r#"<polyline points="{}" fill="none" stroke="{DEMAND_COLOR}" stroke-width="2" stroke-dasharray="5,3"/>"#,
        demand.join(" ")
    );
    short_hours(out, hours, cols, cap.top + cap.height + 2.0);
    cap
}

/// An orange mark under each hour with minutes short of capacity.
fn short_hours(out: &mut String, hours: &[Hour], cols: &Columns, y: f64) {
    for (i, h) in hours.iter().enumerate() {
        if h.short_minutes > 0 {
            let _ = writeln!(
                out,
                r#"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="4" fill="orange"><title>hour {}: {} minutes short</title></rect>"#,
                cols.x(i),
                cols.bar_w,
                h.hour,
                h.short_minutes
            );
        }
    }
}

fn legend(out: &mut String) {
    let ly = H - 18.0;
    let mut lx = LEFT;
    for (color, label, dashed) in [
        (OD_COLOR, "on-demand", false),
        (SPOT_COLOR, "spot", false),
        (DEMAND_COLOR, "demand (instances at 100% CPU)", true),
    ] {
        if dashed {
            let _ = writeln!(
                out,
                r#"<line x1="{lx}" y1="{}" x2="{}" y2="{}" stroke="{color}" stroke-width="2" stroke-dasharray="5,3"/>"#,
                ly - 4.0,
                lx + 14.0,
                ly - 4.0
            );
        } else {
            let _ = writeln!(
                out,
                r#"<rect x="{lx}" y="{}" width="14" height="10" fill="{color}"/>"#,
                ly - 9.0
            );
        }
        let _ = writeln!(out, r#"<text x="{}" y="{ly}">{label}</text>"#, lx + 20.0);
        lx += 40.0 + label.len() as f64 * 6.5;
    }
}

fn axis(out: &mut String, p: &Panel, label: &str, fmt: impl Fn(f64) -> String) {
    let right = W - RIGHT;
    for k in 0..=4 {
        let v = p.max * f64::from(k) / 4.0;
        let y = p.y(v);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{right}" y2="{y:.1}" stroke="#ddd"/>"##
        );
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="dimgray">{}</text>"##,
            LEFT - 6.0,
            y + 4.0,
            fmt(v)
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{LEFT}" y="{:.1}" font-weight="bold">{label}</text>"##,
        p.top - 8.0
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_maxima() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(0.9), 1.0);
        assert_eq!(nice_max(1.0), 1.5);
        assert_eq!(nice_max(3.0), 4.0);
        assert_eq!(nice_max(11.0), 15.0);
        assert_eq!(nice_max(0.21), 0.25);
    }

    #[test]
    fn chart_is_well_formed_and_escaped() {
        let report = Report {
            hours: vec![
                Hour {
                    hour: 0,
                    on_demand_cost: 0.12,
                    spot_cost: 0.04,
                    on_demand_instances: 1.0,
                    spot_instances: 2.0,
                    demand: 1.2,
                    short_minutes: 3,
                },
                Hour {
                    hour: 1,
                    ..Hour::default()
                },
            ],
            ..Report::default()
        };
        let svg = chart(&report, "a < b & c");
        assert!(svg.starts_with("<svg "));
        assert!(svg.ends_with("</svg>\n"));
        assert!(svg.contains("a &lt; b &amp; c"));
        assert!(svg.contains("3 minutes short"));
        assert!(!svg.contains("NaN"));
    }
}
