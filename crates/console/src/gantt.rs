//! The train's timeline as a Gantt chart, drawn as SVG on the server from the timeline data: the stages
//! and each application release as planned (outlined) against actual (filled) bars, gate dates and
//! milestones as markers, a line for today, and arrows from each release to those depending on it.

use chrono::{DateTime, NaiveDate, Utc};
use maud::{Markup, html};
use railyard_service::Timeline;

const LABEL: f64 = 190.0;
const CHART: f64 = 760.0;
const ROW: f64 = 26.0;
const TOP: f64 = 40.0;

struct Scale {
    from: NaiveDate,
    per_day: f64,
}

impl Scale {
    fn x(&self, d: NaiveDate) -> f64 {
        LABEL + (d - self.from).num_days() as f64 * self.per_day
    }
    fn x_at(&self, t: DateTime<Utc>) -> f64 {
        self.x(t.date_naive())
    }
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// The chart; `None` when the timeline has nothing dated to draw.
pub fn chart(t: &Timeline, now: DateTime<Utc>) -> Option<Markup> {
    let mut dates: Vec<NaiveDate> = vec![t.today];
    for s in &t.stages {
        dates.extend([s.planned_start, s.planned_end]);
        dates.extend(s.actual_start.iter().chain(&s.actual_end).map(|d| d.date_naive()));
    }
    for r in &t.releases {
        dates.extend([r.planned_start, r.planned_end]);
        dates.extend(r.actual_start.iter().chain(&r.actual_end).map(|d| d.date_naive()));
    }
    dates.extend(t.milestones.iter().map(|m| m.due));
    let from = *dates.iter().min()? - chrono::Duration::days(2);
    let to = *dates.iter().max()? + chrono::Duration::days(2);
    let days = (to - from).num_days().max(1) as f64;
    let sc = Scale { from, per_day: CHART / days };
    let rows = t.stages.len() + t.releases.len();
    let height = TOP + rows as f64 * ROW + 24.0;
    let width = LABEL + CHART + 10.0;
    let row_y = |i: usize| TOP + i as f64 * ROW;
    let release_row = |id: &str| t.releases.iter().position(|r| r.id == id).map(|i| t.stages.len() + i);
    let label = format!("Timeline of train {} from {from} to {to}", t.train_id);
    Some(html! {
        svg.gantt xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(label)
            viewBox=(format!("0 0 {} {}", fmt(width), fmt(height))) width="100%" {
            title { (label) }
            defs {
                marker #arrow viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse" {
                    path d="M 0 0 L 10 5 L 0 10 z" fill="#555" {}
                }
            }
            // Month ticks along the top.
            @for (x, text) in months(&sc, from, to) {
                line x1=(fmt(x)) y1="18" x2=(fmt(x)) y2=(fmt(height - 20.0)) stroke="#e3e3e3" {}
                text x=(fmt(x + 2.0)) y="14" font-size="11" fill="#555" { (text) }
            }
            // Train milestones on the top line.
            @for m in &t.milestones {
                @let x = sc.x(m.due);
                polygon points=(diamond(x, 28.0, 6.0)) fill=(if m.overdue { "#b3261e" } else if m.decided_at.is_some() { "#2e7d32" } else { "#f2a900" }) {
                    title { "Milestone " (m.title) ", due " (m.due) ", " (m.state.as_str()) @if m.overdue { " (overdue)" } }
                }
            }
            @for (i, s) in t.stages.iter().enumerate() {
                @let y = row_y(i);
                text x="4" y=(fmt(y + 17.0)) font-size="12" { (s.stage.as_str().replace('_', " ")) }
                rect x=(fmt(sc.x(s.planned_start))) y=(fmt(y + 4.0)) width=(fmt((sc.x(s.planned_end) - sc.x(s.planned_start)).max(2.0)))
                    height=(fmt(ROW - 8.0)) fill="#dfe8f3" stroke="#1f3a5f" {
                    title { (s.stage.as_str()) " planned " (s.planned_start) " to " (s.planned_end) }
                }
                @if let Some(a) = s.actual_start {
                    @let end = s.actual_end.unwrap_or(now);
                    rect x=(fmt(sc.x_at(a))) y=(fmt(y + 9.0)) width=(fmt((sc.x_at(end) - sc.x_at(a)).max(2.0))) height=(fmt(ROW - 18.0)) fill="#1f3a5f" {
                        title { (s.stage.as_str()) " actual from " (a.date_naive()) @if let Some(e) = s.actual_end { " to " (e.date_naive()) } @else { ", ongoing" } }
                    }
                }
                @for g in t.gates.iter().filter(|g| g.gate.as_str() == s.stage.as_str()) {
                    polygon points=(diamond(sc.x(g.planned), y + ROW / 2.0, 7.0)) fill=(if g.passed_at.is_some() { "#2e7d32" } else { "#fff" }) stroke="#2e7d32" {
                        title { (g.gate.as_str()) " gate, planned " (g.planned) @if let Some(p) = g.passed_at { ", passed " (p.date_naive()) } }
                    }
                }
            }
            @for (i, r) in t.releases.iter().enumerate() {
                @let y = row_y(t.stages.len() + i);
                text x="4" y=(fmt(y + 17.0)) font-size="12" { (r.application) " " (r.id) }
                rect x=(fmt(sc.x(r.planned_start))) y=(fmt(y + 4.0)) width=(fmt((sc.x(r.planned_end) - sc.x(r.planned_start)).max(2.0)))
                    height=(fmt(ROW - 8.0)) fill="#e8f0e0" stroke="#4a6b2f" {
                    title { (r.id) " " (r.title) " planned " (r.planned_start) " to " (r.planned_end) ", " (r.state.as_str()) }
                }
                @if let Some(a) = r.actual_start {
                    @let end = r.actual_end.unwrap_or(now);
                    rect x=(fmt(sc.x_at(a))) y=(fmt(y + 9.0)) width=(fmt((sc.x_at(end) - sc.x_at(a)).max(2.0))) height=(fmt(ROW - 18.0)) fill="#4a6b2f" {
                        title { (r.id) " actual from " (a.date_naive()) }
                    }
                }
                @for m in &r.milestones {
                    polygon points=(diamond(sc.x(m.due), y + ROW / 2.0, 5.0)) fill=(if m.overdue { "#b3261e" } else { "#f2a900" }) {
                        title { "Milestone " (m.title) ", due " (m.due) }
                    }
                }
                // Arrows from each dependency's end to this release's start.
                @for d in &r.depends_on {
                    @if let (Some(from_row), Some(dep)) = (release_row(d), t.releases.iter().find(|x| &x.id == d)) {
                        @let (x1, y1) = (sc.x(dep.planned_end), row_y(from_row) + ROW / 2.0);
                        @let (x2, y2) = (sc.x(r.planned_start), y + ROW / 2.0);
                        path d=(format!("M {} {} C {} {}, {} {}, {} {}", fmt(x1), fmt(y1), fmt(x1 + 20.0), fmt(y1), fmt(x2 - 20.0), fmt(y2), fmt(x2), fmt(y2)))
                            fill="none" stroke="#555" stroke-width="1.2" marker-end="url(#arrow)" {
                            title { (r.id) " depends on " (d) }
                        }
                    }
                }
            }
            // Today.
            @let x = sc.x(t.today);
            line x1=(fmt(x)) y1="18" x2=(fmt(x)) y2=(fmt(height - 20.0)) stroke="#b3261e" stroke-width="1.5" stroke-dasharray="4 3" {}
            text x=(fmt(x + 3.0)) y=(fmt(height - 6.0)) font-size="11" fill="#b3261e" { "today " (t.today) }
        }
    })
}

fn diamond(x: f64, y: f64, r: f64) -> String {
    format!("{},{} {},{} {},{} {},{}", fmt(x), fmt(y - r), fmt(x + r), fmt(y), fmt(x), fmt(y + r), fmt(x - r), fmt(y))
}

/// The first day of each month in the range, with its label.
fn months(sc: &Scale, from: NaiveDate, to: NaiveDate) -> Vec<(f64, String)> {
    use chrono::Datelike;
    let mut out = Vec::new();
    let mut d = NaiveDate::from_ymd_opt(from.year(), from.month(), 1);
    while let Some(day) = d {
        if day > to {
            break;
        }
        if day >= from {
            out.push((sc.x(day), day.format("%b %Y").to_string()));
        }
        d = if day.month() == 12 {
            NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(day.year(), day.month() + 1, 1)
        };
    }
    out
}
