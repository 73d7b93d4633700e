//! The environment calendar: a week or a month of maintenance, blackouts, reservations and deployments,
//! for one environment or all of them, with conflicts highlighted; beside them, the trains' milestones
//! and production dates and the releases' production deployments (see `dates.rs`).
//!
//! `?view=week|month` (week unless said otherwise) and `?from=YYYY-MM-DD` (today unless said otherwise):
//! the week shown is the one (Monday to Sunday) that holds `from`, the month the one that holds it.
//!
//! Days are the signed-in person's days: they begin at midnight in their time zone, an entry is on each
//! day of theirs it overlaps, and its times are shown in their zone, which the page names.

mod dates;

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Html;
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use maud::{Markup, html};
use railyard_service::{CalendarEntry, Service};

use crate::error::PageError;
use crate::layout;
use crate::session::SignedIn;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Week,
    Month,
}

impl View {
    fn as_str(self) -> &'static str {
        match self {
            View::Week => "week",
            View::Month => "month",
        }
    }
}

/// What the page shows: the view, the day it was asked for, and the days of its grid.
struct Window {
    view: View,
    /// The first day of the week or of the month.
    first: NaiveDate,
    /// The grid's days: seven for a week; whole weeks covering the month for a month.
    days: Vec<NaiveDate>,
    previous: NaiveDate,
    next: NaiveDate,
    /// The person's time zone: their days and how times are shown.
    zone: Tz,
}

fn bad_from(d: NaiveDate) -> PageError {
    PageError::bad_parameter("from", format!("{d} is too far from today for a calendar"))
}

impl Window {
    fn new(params: &HashMap<String, String>, today: NaiveDate, zone: Tz) -> Result<Window, PageError> {
        let view = match params.get("view").map(|v| v.trim()) {
            None | Some("") | Some("week") => View::Week,
            Some("month") => View::Month,
            Some(other) => {
                return Err(PageError::bad_parameter("view", format!("“{other}” is neither week nor month")));
            }
        };
        let day = match params.get("from").map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => today,
            Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| {
                PageError::bad_parameter("from", format!("“{text}” is not a date like 2027-03-01 ({e})"))
            })?,
        };
        let monday = |d: NaiveDate| d.checked_sub_days(Days::new(u64::from(d.weekday().num_days_from_monday())));
        match view {
            View::Week => {
                let first = monday(day).ok_or_else(|| bad_from(day))?;
                let days = (0..7).map(|i| first.checked_add_days(Days::new(i))).collect::<Option<Vec<_>>>();
                let previous = first.checked_sub_days(Days::new(7));
                let next = first.checked_add_days(Days::new(7));
                match (days, previous, next) {
                    (Some(days), Some(previous), Some(next)) => Ok(Window { view, first, days, previous, next, zone }),
                    _ => Err(bad_from(day)),
                }
            }
            View::Month => {
                let first = day.with_day(1).ok_or_else(|| bad_from(day))?;
                let previous = first.checked_sub_months(Months::new(1)).ok_or_else(|| bad_from(day))?;
                let next = first.checked_add_months(Months::new(1)).ok_or_else(|| bad_from(day))?;
                let start = monday(first).ok_or_else(|| bad_from(day))?;
                let mut days = Vec::new();
                let mut d = start;
                while d < next || days.len() % 7 != 0 {
                    days.push(d);
                    d = d.checked_add_days(Days::new(1)).ok_or_else(|| bad_from(day))?;
                }
                Ok(Window { view, first, days, previous, next, zone })
            }
        }
    }

    fn start(&self) -> DateTime<Utc> {
        midnight(self.days.first().copied().unwrap_or(self.first), self.zone)
    }

    fn end(&self) -> DateTime<Utc> {
        let last = self.days.last().copied().unwrap_or(self.first);
        midnight(last.checked_add_days(Days::new(1)).unwrap_or(last), self.zone)
    }

    /// The grid's first day and the day after its last: the dates it shows.
    fn dates(&self) -> (NaiveDate, NaiveDate) {
        let first = self.days.first().copied().unwrap_or(self.first);
        let last = self.days.last().copied().unwrap_or(self.first);
        (first, last.checked_add_days(Days::new(1)).unwrap_or(last))
    }

    /// The abbreviation of the person's zone on the grid's first day (`JST`, `CET`).
    fn zone_abbreviation(&self) -> String {
        self.start().with_timezone(&self.zone).format("%Z").to_string()
    }

    fn title(&self) -> String {
        match self.view {
            View::Week => format!("Week of {}", self.first.format("%a %Y-%m-%d")),
            View::Month => self.first.format("%B %Y").to_string(),
        }
    }
}

/// The instant the day `d` begins in `zone`: its midnight, or the first hour it has where a clock change
/// skips midnight.
pub(crate) fn midnight(d: NaiveDate, zone: Tz) -> DateTime<Utc> {
    (0..3)
        .find_map(|h| zone.from_local_datetime(&d.and_time(NaiveTime::MIN + chrono::Duration::hours(h))).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| d.and_time(NaiveTime::MIN).and_utc())
}

/// The day `t` falls on in `zone`.
pub(crate) fn day_of(t: &DateTime<Utc>, zone: Tz) -> NaiveDate {
    t.with_timezone(&zone).date_naive()
}

/// One entry of an environment's calendar with what conflicts about it.
struct Line {
    environment: String,
    entry: CalendarEntry,
    conflicts: Vec<String>,
}

impl Line {
    /// Whether the entry is on `day` of the person in `zone`: it overlaps it, or (instantaneous) it is in it.
    fn on(&self, day: NaiveDate, zone: Tz) -> bool {
        let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
        let (from, to) = (midnight(day, zone), midnight(next, zone));
        let e = &self.entry;
        (e.start < to && from < e.end) || (e.start == e.end && from <= e.start && e.start < to)
    }
}

/// What conflicts about each entry of one environment: the conflicts reported when a deployment was
/// scheduled, what holds a waiting deployment, and a deployment or reservation that overlaps a blackout or
/// maintenance of the same environment.
fn lines_of(environment: &str, entries: Vec<CalendarEntry>) -> Vec<Line> {
    let closed: Vec<CalendarEntry> =
        entries.iter().filter(|e| e.kind == "blackout" || e.kind == "maintenance").cloned().collect();
    entries
        .into_iter()
        .map(|entry| {
            let mut conflicts = entry.conflicts.clone();
            if let Some(b) = &entry.blocked {
                conflicts.push(format!("blocked: {b}"));
            }
            if entry.kind == "deployment" || entry.kind == "reservation" {
                let end = entry.end.max(entry.start + chrono::Duration::seconds(1));
                for c in closed.iter().filter(|c| entry.start < c.end && c.start < end) {
                    conflicts.push(format!("overlaps {} {} “{}”", c.kind, c.id, c.title));
                }
            }
            Line { environment: environment.to_string(), entry, conflicts }
        })
        .collect()
}

async fn environment_names(s: &Service, user: &SignedIn) -> Result<Vec<String>, PageError> {
    let all = crate::environments::all(s, &user.session.actor).await?;
    Ok(all.into_iter().map(|e| e.environment.name).collect())
}

/// `GET /calendar`: every environment.
pub async fn all(
    State(s): State<Service>,
    user: SignedIn,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Html<String>, PageError> {
    let zone = user.session.time_zone;
    let window = Window::new(&params, day_of(&s.now(), zone), zone)?;
    let names = environment_names(&s, &user).await?;
    render(&s, &user, &window, names, "/calendar", "Calendar of all environments").await
}

/// `GET /environments/{name}/calendar`: one environment.
pub async fn one(
    State(s): State<Service>,
    user: SignedIn,
    Path(name): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Html<String>, PageError> {
    let zone = user.session.time_zone;
    let window = Window::new(&params, day_of(&s.now(), zone), zone)?;
    let env = s.environment(&user.session.actor, &name).await?;
    let name = env.environment.name;
    let base = format!("/environments/{name}/calendar");
    let heading = format!("Calendar of {name}");
    render(&s, &user, &window, vec![name], &base, &heading).await
}

async fn render(
    s: &Service,
    user: &SignedIn,
    window: &Window,
    names: Vec<String>,
    base: &str,
    heading: &str,
) -> Result<Html<String>, PageError> {
    let mut rows = Vec::new();
    for name in names {
        let entries = s.calendar(&user.session.actor, &name, Some(window.start()), Some(window.end())).await?;
        rows.push((name.clone(), lines_of(&name, entries)));
    }
    let deployments: Vec<String> =
        rows.iter().flat_map(|(_, l)| l).filter(|l| l.entry.kind == "deployment").map(|l| l.entry.id.clone()).collect();
    let marks = dates::marks(s, &user.session.actor, window.dates(), window.zone, &deployments).await?;
    let today = day_of(&s.now(), window.zone);
    let conflicts = rows.iter().flat_map(|(_, l)| l).filter(|l| !l.conflicts.is_empty()).count();
    let link = |view: View, from: NaiveDate| format!("{base}?view={}&from={from}", view.as_str());
    let other = if window.view == View::Week { View::Month } else { View::Week };
    let title = format!("{heading} — {}", window.title());
    let body = html! {
        h1 { (heading) }
        nav.calendar aria-label="Calendar navigation" {
            a rel="prev" href=(link(window.view, window.previous)) { "← Previous " (window.view.as_str()) }
            " · " a href=(link(window.view, today)) { "This " (window.view.as_str()) }
            " · " a rel="next" href=(link(window.view, window.next)) { "Next " (window.view.as_str()) " →" }
            " · " a href=(link(other, window.first)) { "Show the " (other.as_str()) }
            @if base != "/calendar" { " · " a href={ "/calendar?view=" (window.view.as_str()) "&from=" (window.first) } { "All environments" } }
            @if let Some(env) = base.strip_prefix("/environments/").and_then(|b| b.strip_suffix("/calendar")) {
                " · " a href={ "/environments/" (env) } { "About " (env) ", its events and state" }
            }
        }
        h2 { (window.title()) }
        @if conflicts > 0 {
            p role="alert" { (conflicts) " " (if conflicts == 1 { "entry conflicts" } else { "entries conflict" }) " in this " (window.view.as_str()) "; they are marked “conflict”." }
        }
        @if rows.is_empty() { p { "No environments yet." } }
        @else if window.view == View::Week { (week(window, &rows, &marks, today)) }
        @else { (month(window, &rows, &marks, today)) }
        p.hint { "Days and times are yours: " (crate::widgets::zone_hint(window.zone)) " (" (window.zone_abbreviation()) "). Maintenance and blackouts keep deployments out (they wait, marked blocked); a reservation holds the environment for a train." }
    };
    Ok(Html(layout::page(&title, Some(&user.session), body).into_string()))
}

fn week(window: &Window, rows: &[(String, Vec<Line>)], marks: &[dates::Mark], today: NaiveDate) -> Markup {
    html! {
        div.table { table.calendar.week {
            caption.sr { "Environments by day, " (window.title()) }
            thead { tr {
                th scope="col" { "Environment" }
                @for d in &window.days {
                    th scope="col" aria-current=[(*d == today).then_some("date")] { (d.format("%a %Y-%m-%d")) }
                }
            } }
            tbody {
                tr.marks {
                    th scope="row" { "Trains and releases" }
                    @for d in &window.days {
                        td aria-current=[(*d == today).then_some("date")] { ul.entries { (dates::items(marks.iter().filter(|m| m.on(*d, window.zone)), window.zone)) } }
                    }
                }
                @for (name, lines) in rows {
                    tr {
                        th scope="row" { a href={ "/environments/" (name) "/calendar?view=week&from=" (window.first) } { (name) } }
                        @for d in &window.days {
                            td aria-current=[(*d == today).then_some("date")] { (entries(lines.iter().filter(|l| l.on(*d, window.zone)), false, window.zone)) }
                        }
                    }
                }
            }
        } }
    }
}

fn month(window: &Window, rows: &[(String, Vec<Line>)], marks: &[dates::Mark], today: NaiveDate) -> Markup {
    let several = rows.len() > 1;
    html! {
        div.table { table.calendar.month {
            caption.sr { (window.title()) }
            thead { tr { @for d in ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] { th scope="col" { (d) } } } }
            tbody {
                @for week in window.days.chunks(7) {
                    tr {
                        @for d in week {
                            td.outside[d.month() != window.first.month()] aria-current=[(*d == today).then_some("date")] {
                                div.day { (d.format("%d")) }
                                @if marks.iter().any(|m| m.on(*d, window.zone)) { ul.entries { (dates::items(marks.iter().filter(|m| m.on(*d, window.zone)), window.zone)) } }
                                (entries(rows.iter().flat_map(|(_, l)| l).filter(|l| l.on(*d, window.zone)), several, window.zone))
                            }
                        }
                    }
                }
            }
        } }
    }
}

/// An entry's time in the person's zone, to the minute, with the zone's abbreviation.
pub(crate) fn clock(t: &DateTime<Utc>, zone: Tz) -> Markup {
    html! { time datetime=(t.to_rfc3339()) title=(zone.name()) { (t.with_timezone(&zone).format("%m-%d %H:%M %Z")) } }
}

fn entries<'a>(lines: impl Iterator<Item = &'a Line>, with_environment: bool, zone: Tz) -> Markup {
    html! {
        ul.entries {
            @for l in lines {
                @let e = &l.entry;
                @let conflict = !l.conflicts.is_empty();
                @let class = if conflict { format!("entry {} conflict", e.kind) } else { format!("entry {}", e.kind) };
                li class=(class) {
                    strong { (e.kind) } " " (e.id)
                    @if with_environment { " (" (l.environment) ")" }
                    br; (e.title)
                    br; small { (clock(&e.start, zone)) "–" (clock(&e.end, zone)) }
                    @if let Some(t) = &e.train_id { " " a href={ "/trains/" (t) } { (t) } }
                    @if let Some(t) = &e.turnover_id { " " a href={ "/turnovers/" (t) } { (t) } }
                    @if let Some(st) = &e.state { " " span.state { (st.replace('_', " ")) } }
                    @if conflict {
                        br; span.state.bad { "conflict" }
                        ul.why { @for c in &l.conflicts { li { (c) } } }
                    }
                }
            }
        }
    }
}
