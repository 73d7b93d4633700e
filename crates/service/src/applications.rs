//! Applications: create, list, show, update, archive.

use railyard_domain::{Actor, Application, ApplicationPatch, ApplicationSpec, Operation};
use railyard_store::ListQuery;
use serde::Serialize;
use utoipa::ToSchema;

use crate::input_limits::bounded;
use crate::persist::{Stored, Tx, check_version};
use crate::views::{Meta, Page, page_of};
use crate::{Service, ServiceResult};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApplicationView {
    #[serde(flatten)]
    pub application: Application,
    #[serde(flatten)]
    pub meta: Meta,
}

fn view(s: Stored<Application>) -> ApplicationView {
    ApplicationView { meta: Meta::of(&s), application: s.value }
}

impl Service {
    pub async fn create_application(&self, actor: &Actor, spec: ApplicationSpec) -> ServiceResult<ApplicationView> {
        bounded(&spec)?;
        self.authorize(actor, Operation::ManageApplications)?;
        let (app, change) = Application::create(spec, actor)?;
        self.check_users([("owner".to_string(), app.owner.clone())]).await?;
        self.ensure_absent::<Application>(&app.key).await?;
        let mut tx = Tx::new(actor, self.now());
        tx.insert(&app, self.store.next_seq("APP").await?)?;
        tx.record([change]);
        self.commit(tx).await?;
        self.application(actor, &app.key).await
    }

    pub async fn application(&self, actor: &Actor, key: &str) -> ServiceResult<ApplicationView> {
        self.authorize(actor, Operation::Read)?;
        Ok(view(self.load(key).await?))
    }

    pub async fn applications(
        &self,
        actor: &Actor,
        include_archived: bool,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<Page<ApplicationView>> {
        self.authorize(actor, Operation::Read)?;
        let mut q = ListQuery::new("application", 0);
        if !include_archived {
            q.states = vec!["active".into()];
        }
        page_of(self, &mut q, limit, cursor, |s| Ok(view(s))).await
    }

    pub async fn update_application(
        &self,
        actor: &Actor,
        key: &str,
        patch: ApplicationPatch,
        expected: Option<i64>,
    ) -> ServiceResult<ApplicationView> {
        bounded(&patch)?;
        self.authorize(actor, Operation::ManageApplications)?;
        if let Some(o) = &patch.owner {
            self.check_users([("owner".to_string(), o.clone())]).await?;
        }
        let patch = &patch;
        self.retrying(expected, move || async move {
            let mut s: Stored<Application> = self.load(key).await?;
            check_version("application", key, s.version, expected)?;
            let change = s.value.update(patch.clone())?;
            let mut tx = Tx::new(actor, self.now());
            tx.update(&s)?;
            tx.record([change]);
            self.commit(tx).await
        })
        .await?;
        self.application(actor, key).await
    }

    pub async fn archive_application(&self, actor: &Actor, key: &str) -> ServiceResult<ApplicationView> {
        self.authorize(actor, Operation::ManageApplications)?;
        self.retrying(None, move || async move {
            let mut s: Stored<Application> = self.load(key).await?;
            let change = s.value.archive()?;
            let mut tx = Tx::new(actor, self.now());
            tx.update(&s)?;
            tx.record([change]);
            self.commit(tx).await
        })
        .await?;
        self.application(actor, key).await
    }
}
