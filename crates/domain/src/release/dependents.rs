//! What depends on an application release: its dependents, and whether it holds each of them back.
//!
//! This is the release-level summary a release page shows. What actually holds a production
//! deployment back, environment by environment and through chains of releases deployed nowhere yet,
//! is decided by [`crate::holds::production_holds`]; a release held here is one whose production
//! deployments that function will hold until the dependency is released.

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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn release(id: &str, state: &str, dependencies: &[&str]) -> ApplicationRelease {
        serde_json::from_value(json!({
            "id": id, "title": format!("{id} title"), "application": "PAY", "product_owner": "pat",
            "release_type": "minor", "schedule": {"start": "2027-01-04", "end": "2027-02-04"},
            "dependencies": dependencies, "state": state, "created_by": "pat"
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_dependency_on_its_way_holds_its_dependents_until_one_of_them_is_released_or_gone() {
        let db = release("AR-1", "verification", &[]);
        for (dependent, held) in [
            ("planning", true),
            ("awaiting_development_approval", true),
            ("verification", true),
            ("released", false),
            ("closed", false),
            ("cancelled", false),
        ] {
            assert_eq!(holds(&db, &release("AR-2", dependent, &["AR-1"])), held, "dependent {dependent}");
        }
        for (dependency, held) in [("construction", true), ("released", false), ("closed", false), ("cancelled", false)]
        {
            assert_eq!(holds(&release("AR-1", dependency, &[]), &release("AR-2", "construction", &["AR-1"])), held);
        }
        assert!(!holds(&db, &release("AR-3", "construction", &["AR-9"])), "not a dependent");
    }

    #[test]
    fn the_dependents_are_the_releases_that_name_it_in_their_order() {
        let db = release("AR-1", "construction", &[]);
        let others = [
            release("AR-1", "construction", &[]),
            release("AR-2", "planning", &["AR-1"]),
            release("AR-3", "planning", &["AR-7"]),
            release("AR-4", "cancelled", &["AR-7", "AR-1"]),
        ];
        let found = dependents_of(&db, &others);
        let seen: Vec<(&str, bool)> = found.iter().map(|d| (d.id.as_str(), d.held)).collect();
        assert_eq!(seen, [("AR-2", true), ("AR-4", false)]);
        assert_eq!((found[0].title.as_str(), found[0].application.as_str()), ("AR-2 title", "PAY"));
    }
}
