//! The list of turnovers, filtered by train and state, linking each turnover's page.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Html;
use maud::html;
use railyard_domain::{AvailableAction, TurnoverKind, TurnoverState};
use railyard_service::{MAX_PAGE, Service, TrainFilter, TurnoverFilter};

use crate::error::PageError;
use crate::forms::optional;
use crate::layout;
use crate::session::SignedIn;
use crate::widgets::badge;

/// Every state a turnover can be in, for the list's filter.
pub const STATES: [TurnoverState; 11] = [
    TurnoverState::Draft,
    TurnoverState::InFlight,
    TurnoverState::Completed,
    TurnoverState::Delivered,
    TurnoverState::Accepted,
    TurnoverState::Deploying,
    TurnoverState::Deployed,
    TurnoverState::Verified,
    TurnoverState::RolledBack,
    TurnoverState::Closed,
    TurnoverState::Cancelled,
];

/// `GET /turnovers?train=RT-1&state=draft`: the turnovers, filtered.
pub async fn show(
    State(s): State<Service>,
    user: SignedIn,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    let train = params.get("train").and_then(|t| optional(t));
    let chosen = match params.get("state").and_then(|t| optional(t)) {
        None => None,
        Some(st) => Some(STATES.into_iter().find(|x| x.as_str() == st).ok_or_else(|| {
            let names: Vec<&str> = STATES.iter().map(|x| x.as_str()).collect();
            PageError::bad_parameter(
                "state",
                format!("“{st}” is not a turnover state; states are {}", names.join(", ")),
            )
        })?),
    };
    let filter = TurnoverFilter {
        train: train.clone(),
        states: chosen.into_iter().collect(),
        limit: Some(MAX_PAGE),
        ..Default::default()
    };
    let turnovers = s.turnovers(actor, filter).await?.items;
    let trains = s.trains(actor, TrainFilter { limit: Some(MAX_PAGE), ..Default::default() }).await?.items;
    let creates = AvailableAction::allows(&s.global_actions_for(actor), "create_turnover");
    let body = html! {
        h1 { "Turnovers" }
        form.action method="get" action="/turnovers" aria-label="Filter the turnovers" {
            label { "Train"
                select name="train" {
                    option value="" { "every train" }
                    @for t in &trains { option value=(t.train.id) selected[Some(&t.train.id) == train.as_ref()] { (t.train.id) " " (t.train.title) } }
                }
            }
            label { "State"
                select name="state" {
                    option value="" { "any state" }
                    @for st in STATES { option value=(st.as_str()) selected[Some(st) == chosen] { (st.as_str().replace('_', " ")) } }
                }
            }
            button.secondary type="submit" { "Show" }
        }
        @if creates && trains.iter().any(|t| Some(&t.train.id) == train.as_ref()) {
            @if let Some(t) = &train { p { a href={ "/turnovers/new-production?train=" (t) } { "New production-ready turnover for " (t) } } }
        }
        section aria-labelledby="list" {
            h2 #list { (turnovers.len()) " turnover" @if turnovers.len() != 1 { "s" } }
            @if turnovers.is_empty() { p { "No turnover matches." } }
            @else {
                div.table { table {
                    thead { tr { th { "Turnover" } th { "Kind" } th { "State" } th { "Train" } th { "Releases" } th { "Developer" } } }
                    tbody {
                        @for t in &turnovers {
                            @let t = &t.turnover;
                            tr {
                                td { a href={ "/turnovers/" (t.id) } { (t.id) } " " (t.title) }
                                td { @if t.kind == TurnoverKind::ProductionReady { "production-ready" } @else { "standard" } }
                                td { (badge(t.state.as_str())) }
                                td { a href={ "/trains/" (t.train_id) } { (t.train_id) } }
                                td { (t.releases.join(", ")) }
                                td { (t.developer) }
                            }
                        }
                    }
                } }
            }
        }
    };
    Ok(Html(layout::page("Turnovers", Some(&user.session), body).into_string()))
}
