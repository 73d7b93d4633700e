//! Every application release, read once and shared between requests until the next change.
//!
//! Conflicts (R5), the dependency order and the cycle check need the whole dependency graph, and the
//! dashboard and the inbox every open release's milestones: with thousands of releases, decoding them
//! all on every page is most of the page's time. The snapshot is tagged with the store's
//! [`head_seq`](railyard_store::Store::head_seq) when it was read; every change commits an event, so
//! while the head has not moved the snapshot is exactly what the store holds. Checking the head is one
//! small query, and it works across servers sharing one PostgreSQL database, because the head lives in
//! the database, not in this process.

use std::sync::{Arc, Mutex};

use railyard_domain::ApplicationRelease;
use railyard_store::ListQuery;

use crate::{Service, ServiceResult};

/// The releases as of one head of the audit chain.
#[derive(Default)]
pub(crate) struct ReleaseSnapshot {
    latest: Mutex<Option<(i64, Arc<Vec<ApplicationRelease>>)>>,
}

impl Service {
    /// Every application release, current as of this call.
    pub(crate) async fn all_releases(&self) -> ServiceResult<Arc<Vec<ApplicationRelease>>> {
        // Read the head first: a change landing while the releases are read makes the head move on, so
        // the next call reads them again rather than trusting a snapshot tagged too late.
        let head = self.store.head_seq().await?;
        {
            let latest = self.releases.latest.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some((_, releases)) = latest.as_ref().filter(|(seen, _)| *seen == head) {
                return Ok(releases.clone());
            }
        }
        let all = self.list_all::<ApplicationRelease>(ListQuery::new("application_release", crate::MAX_PAGE)).await?;
        let releases = Arc::new(all.into_iter().map(|s| s.value).collect::<Vec<_>>());
        let mut latest = self.releases.latest.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if latest.as_ref().is_none_or(|(seen, _)| *seen < head) {
            *latest = Some((head, releases.clone()));
        }
        Ok(releases)
    }
}
