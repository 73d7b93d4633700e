//! What depends on an application release: its dependents, and whether it holds each of them back.

use serde::Serialize;
use utoipa::ToSchema;

use super::{ApplicationRelease, ReleaseState};

/// An application release that depends on another, as that other's page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Dependent {
    pub id: String,
    pub title: String,
    pub application: String,
    pub state: ReleaseState,
    /// Whether the release it depends on holds it back now (see [`holds`]).
    pub held: bool,
}

/// Whether `dependency` holds `dependent` back: in production a dependency's tasks run before its
/// dependent's, so a dependent not yet released waits while a release it depends on is neither released
/// nor closed nor cancelled.
pub fn holds(dependency: &ApplicationRelease, dependent: &ApplicationRelease) -> bool {
    let on_the_way = |s: ReleaseState| s < ReleaseState::Released;
    dependent.dependencies.contains(&dependency.id) && on_the_way(dependent.state) && on_the_way(dependency.state)
}

/// The releases among `others` that depend on `release` directly, in the order given, each with whether
/// `release` holds it back.
pub fn dependents_of<'a>(
    release: &ApplicationRelease,
    others: impl IntoIterator<Item = &'a ApplicationRelease>,
) -> Vec<Dependent> {
    others
        .into_iter()
        .filter(|o| o.id != release.id && o.dependencies.contains(&release.id))
        .map(|o| Dependent {
            id: o.id.clone(),
            title: o.title.clone(),
            application: o.application.clone(),
            state: o.state,
            held: holds(release, o),
        })
        .collect()
}
