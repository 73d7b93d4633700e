//! The trains' and releases' dates beside the environments' events: each train's milestones and its
//! planned production date, and the releases' production deployments (scheduled, or when they ran), one
//! entry per production-ready turnover and day, every one linking to its train and releases.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use maud::{Markup, html};
use railyard_domain::Actor;
use railyard_service::{MAX_PAGE, Service, TrainFilter};

use crate::error::PageError;
use crate::paging::every;

/// One dated point of a train or of application releases.
pub(super) struct Mark {
    /// "milestone", "production date" or "production deployment".
    pub kind: &'static str,
    /// MS-4, RT-3 or (a production-ready turnover) TO-12.
    pub id: String,
    pub title: String,
    pub at: DateTime<Utc>,
    /// Whether `at` has a time of day worth showing (deployments), or is a whole day.
    pub timed: bool,
    pub train: String,
    pub train_title: String,
    pub releases: Vec<String>,
    /// A turnover's production deployments that day: id and environment.
    pub deployments: Vec<(String, String)>,
    /// The milestone's, train's or deployment's state.
    pub state: String,
}

impl Mark {
    /// Whether it is on `day` of the person in `zone`: a whole day is its own date everywhere; a timed
    /// mark is on the day its time falls in there.
    pub fn on(&self, day: NaiveDate, zone: Tz) -> bool {
        if self.timed { super::day_of(&self.at, zone) == day } else { self.at.date_naive() == day }
    }
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::MIN).and_utc()
}

/// Every train's milestones and production date on the days `from` up to `to` (exclusive), and the
/// production deployments among `deployments` (ids of deployment entries of production environments
/// shown), one per turnover and day of the person in `zone`.
pub(super) async fn marks(
    s: &Service,
    actor: &Actor,
    (from, to): (NaiveDate, NaiveDate),
    zone: Tz,
    deployments: &[String],
) -> Result<Vec<Mark>, PageError> {
    let within = |d: NaiveDate| from <= d && d < to;
    let trains =
        every(|cursor| s.trains(actor, TrainFilter { limit: Some(MAX_PAGE), cursor, ..Default::default() })).await?;
    let mut out = Vec::new();
    for t in &trains {
        let t = &t.train;
        let state = t.state.as_str().replace('_', " ");
        for m in t.milestones.iter().filter(|m| within(m.due)) {
            out.push(Mark {
                kind: "milestone",
                id: m.id.clone(),
                title: m.title.clone(),
                at: midnight(m.due),
                timed: false,
                train: t.id.clone(),
                train_title: t.title.clone(),
                releases: Vec::new(),
                deployments: Vec::new(),
                state: m.state.as_str().replace('_', " "),
            });
        }
        if within(t.schedule.production_date) {
            out.push(Mark {
                kind: "production date",
                id: t.id.clone(),
                title: format!("Production date of {}", t.title),
                at: midnight(t.schedule.production_date),
                timed: false,
                train: t.id.clone(),
                train_title: t.title.clone(),
                releases: Vec::new(),
                deployments: Vec::new(),
                state: state.clone(),
            });
        }
    }
    for id in deployments {
        let d = s.deployment(actor, id).await?.deployment;
        if !d.production {
            continue;
        }
        let Some(at) = d.started_at.or(d.scheduled_for) else { continue };
        let same = out.iter_mut().find(|m: &&mut Mark| {
            m.kind == "production deployment" && m.id == d.turnover_id && m.on(super::day_of(&at, zone), zone)
        });
        if let Some(m) = same {
            m.at = m.at.min(at);
            m.deployments.push((d.id.clone(), d.environment.clone()));
            let state = d.state.as_str().replace('_', " ");
            if !m.state.split(", ").any(|s| s == state) {
                m.state = format!("{}, {state}", m.state);
            }
            continue;
        }
        let train_title =
            trains.iter().find(|t| t.train.id == d.train_id).map(|t| t.train.title.clone()).unwrap_or_default();
        out.push(Mark {
            kind: "production deployment",
            id: d.turnover_id.clone(),
            title: format!("Production deployment of {}", d.turnover_id),
            at,
            timed: true,
            train: d.train_id.clone(),
            train_title,
            releases: d.releases.clone(),
            deployments: vec![(d.id.clone(), d.environment.clone())],
            state: d.state.as_str().replace('_', " "),
        });
    }
    out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// The marks of one day, as list items.
pub(super) fn items<'a>(marks: impl Iterator<Item = &'a Mark>, zone: Tz) -> Markup {
    html! {
        @for m in marks {
            @let class = format!("entry mark {}", m.kind.replace(' ', "-"));
            li class=(class) {
                strong { (m.kind) } " "
                @if m.deployments.is_empty() { (m.id) br; (m.title) }
                @else { a href={ "/turnovers/" (m.id) } { (m.id) } }
                @if m.timed { br; small { (super::clock(&m.at, zone)) } }
                @if !m.releases.is_empty() {
                    br; "Releases "
                    @for (i, r) in m.releases.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href={ "/releases/" (r) } { (r) }
                    }
                }
                @if !m.deployments.is_empty() {
                    br; "into "
                    @for (i, (d, env)) in m.deployments.iter().enumerate() {
                        @if i > 0 { ", " }
                        (env) " (" a href={ "/deployments/" (d) } { (d) } ")"
                    }
                }
                br; "Train " a href={ "/trains/" (m.train) } { (m.train) " " (m.train_title) }
                " " span.state { (m.state) }
            }
        }
    }
}
