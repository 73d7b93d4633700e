//! Creating an application release (`/releases/new`) and changing one (the edit form of its page).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect};
use maud::{Markup, html};
use railyard_domain::{
    AvailableAction, Criticality, PathState, ReleasePatch, ReleaseSchedule, ReleaseSpec, ReleaseType,
};
use railyard_service::{MAX_PAGE, ReleaseView, Service, SessionInfo, TrainFilter, TrainView};
use serde::Deserialize;

use crate::applications::all_applications;
use crate::error::PageError;
use crate::forms::{self, csrf_field};
use crate::layout;
use crate::people;
use crate::session::SignedIn;
use railyard_service::UserView;

const CRITICALITIES: [(Criticality, &str); 4] = [
    (Criticality::Low, "low"),
    (Criticality::Medium, "medium"),
    (Criticality::High, "high"),
    (Criticality::Critical, "critical"),
];

/// The trains an application release can be proposed to now.
pub(crate) async fn open_trains(s: &Service, user: &SignedIn) -> Result<Vec<TrainView>, PageError> {
    let states = railyard_domain::release::TRAINS_TAKING_RELEASES.to_vec();
    let filter = TrainFilter { states, limit: Some(MAX_PAGE), ..Default::default() };
    Ok(s.trains(&user.session.actor, filter).await?.items)
}

/// A `<select>` of trains named `train`, with `selected` chosen.
pub(crate) fn train_select(trains: &[TrainView], selected: Option<&str>, none: Option<&str>) -> Markup {
    html! {
        select name="train" {
            @if let Some(label) = none { option value="" selected[selected.is_none()] { (label) } }
            @for t in trains {
                @let t = &t.train;
                option value=(t.id) selected[selected == Some(t.id.as_str())] {
                    (t.id) " " (t.title) " (" (t.state.as_str().replace('_', " ")) ", " (t.schedule.start) " to " (t.schedule.production_date) ")"
                }
            }
        }
    }
}

fn criticality_select(selected: Criticality) -> Markup {
    html! {
        select name="criticality" {
            @for (c, name) in CRITICALITIES { option value=(name) selected[c == selected] { (name) } }
        }
    }
}

fn release_type_select(selected: Option<ReleaseType>, none: Option<&str>) -> Markup {
    html! {
        select name="release_type" {
            @if let Some(label) = none { option value="" selected[selected.is_none()] { (label) } }
            @for t in ReleaseType::ALL { option value=(t.as_str()) selected[selected == Some(t)] { (t.as_str()) } }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    train: Option<String>,
    #[serde(default)]
    application: Option<String>,
}

/// `GET /releases/new`: the form to create an application release, with `?train=` and `?application=`
/// pre-selected.
pub async fn new(
    State(s): State<Service>,
    user: SignedIn,
    Query(q): Query<NewQuery>,
) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    // Whoever may not create releases gets the domain's reason instead of a form they could not send.
    let global = s.global_actions_for(actor);
    if let Some(refused) = global.iter().find(|a| a.action == "create_release" && !a.allowed) {
        let why = refused.guards.iter().map(|g| g.message.as_str()).collect::<Vec<_>>().join("; ");
        return Err(railyard_service::ServiceError::Forbidden(why).into());
    }
    let apps = all_applications(&s, actor, false).await?;
    let trains = open_trains(&s, &user).await?;
    let people = people::active(&s, actor).await?;
    let paths = s.paths(actor, vec![PathState::Active], Some(MAX_PAGE), None).await?.items;
    let train = q.train.as_deref().filter(|t| trains.iter().any(|v| v.train.id == *t));
    let app = q.application.as_deref();
    let body = html! {
        h1 { "New application release" }
        section aria-labelledby="new-release" {
            h2 #new-release { "Release" }
            @if apps.is_empty() {
                p { "There is no active application yet: " a href="/applications" { "create one first" } "." }
            } @else {
                form.action method="post" action="/releases" {
                    (csrf_field(&user.session))
                    label { "Application"
                        select name="application" required {
                            @for a in &apps {
                                @let a = &a.application;
                                option value=(a.key) selected[app == Some(a.key.as_str())] { (a.key) " — " (a.name) }
                            }
                        }
                    }
                    label { "Title" input name="title" required; }
                    label { "Product owner" (people::select("product_owner", &people, Some(actor.name.as_str()), None)) }
                    label { "Release type" (release_type_select(None, Some("the train's (or minor)"))) }
                    label { "Criticality" (criticality_select(Criticality::default())) }
                    label { "Start" input type="date" name="start" required; }
                    label { "End" input type="date" name="end" required; }
                    label { "Deployment paths (comma-separated)" input name="allowed_paths"; }
                    label { "Propose to train" (train_select(&trains, train, Some("— not on a train yet —"))) }
                    button type="submit" { "Create application release" }
                }
                (paths_hint(&paths))
                p.hint { "On a train, the schedule must fall within the train's window. A release manager's release is \
                          accepted on the train at once; anyone else's is proposed and waits for a release manager." }
            }
        }
    };
    Ok(Html(layout::page("New application release", Some(&user.session), body).into_string()))
}

fn paths_hint(paths: &[railyard_service::PathView]) -> Markup {
    html! {
        @if !paths.is_empty() {
            p.hint { "Active deployment paths: "
                @for (i, p) in paths.iter().enumerate() { @if i > 0 { ", " } code { (p.path.name) } } "." }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ReleaseForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    application: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    product_owner: String,
    #[serde(default)]
    release_type: String,
    #[serde(default)]
    criticality: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    allowed_paths: String,
    #[serde(default)]
    train: String,
    /// The version the edit form was based on.
    #[serde(default)]
    version: String,
}

impl ReleaseForm {
    fn schedule(&self) -> Result<ReleaseSchedule, PageError> {
        Ok(ReleaseSchedule {
            start: forms::date("schedule.start", &self.start)?,
            end: forms::date("schedule.end", &self.end)?,
        })
    }
    fn release_type(&self) -> Result<Option<ReleaseType>, PageError> {
        forms::optional(&self.release_type).map(|t| forms::choice("release_type", &t)).transpose()
    }
    fn criticality(&self) -> Result<Criticality, PageError> {
        match forms::optional(&self.criticality) {
            Some(c) => forms::choice("criticality", &c),
            None => Ok(Criticality::default()),
        }
    }
}

/// `POST /releases`: creates the application release (proposed to the chosen train), then shows it.
pub async fn create(
    State(s): State<Service>,
    user: SignedIn,
    Form(f): Form<ReleaseForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let spec = ReleaseSpec {
        title: f.title.clone(),
        application: f.application.trim().to_string(),
        product_owner: forms::optional(&f.product_owner),
        release_type: f.release_type()?,
        schedule: f.schedule()?,
        criticality: f.criticality()?,
        allowed_paths: forms::list(&f.allowed_paths),
        train: forms::optional(&f.train),
    };
    let r = s.create_release(&user.session.actor, spec).await?;
    Ok(Redirect::to(&format!("/releases/{}", r.release.id)))
}

/// The edit form of the release page, pre-filled, carrying the version it is based on; shown when the
/// domain's `actions` for the user allow `edit`.
pub(crate) fn edit_form(
    session: &SessionInfo,
    view: &ReleaseView,
    actions: &[AvailableAction],
    people: &[UserView],
    open: bool,
) -> Markup {
    let r = &view.release;
    html! {
        @if AvailableAction::allows(actions, "edit") {
            section aria-labelledby="edit" {
                details.edit open[open] {
                    summary { h2 #edit { "Change the release" } }
                    form.action method="post" action={ "/releases/" (r.id) "/edit" } {
                        (csrf_field(session))
                        input type="hidden" name="version" value=(view.meta.version);
                        label { "Title" input name="title" required value=(r.title); }
                        label { "Product owner" (people::select("product_owner", people, Some(r.product_owner.as_str()), None)) }
                        label { "Release type" (release_type_select(Some(r.release_type), None)) }
                        label { "Criticality" (criticality_select(r.criticality)) }
                        label { "Start" input type="date" name="start" required value=(r.schedule.start); }
                        label { "End" input type="date" name="end" required value=(r.schedule.end); }
                        label { "Deployment paths (comma-separated)" input name="allowed_paths" value=(r.allowed_paths.join(", ")); }
                        button type="submit" { "Save changes" }
                    }
                }
            }
        }
    }
}

/// `POST /releases/{id}/edit`: saves the edit form; refused when the release changed since it was loaded.
pub async fn update(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ReleaseForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let page = format!("/releases/{id}");
    async {
        let version = forms::optional_number::<i64>("version", &f.version)?;
        let patch = ReleasePatch {
            title: Some(f.title.clone()),
            product_owner: forms::optional(&f.product_owner),
            release_type: f.release_type()?,
            schedule: Some(f.schedule()?),
            criticality: Some(f.criticality()?),
            allowed_paths: Some(forms::list(&f.allowed_paths)),
        };
        s.update_release(&user.session.actor, &id, patch, version).await?;
        Ok(Redirect::to(&page))
    }
    .await
    .map_err(|e: PageError| e.in_form(forms::form_again(&page)))
}
