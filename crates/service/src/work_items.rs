//! Work items of an application release: one by one, or imported in a batch from CSV or JSON — all or
//! nothing, and idempotent (importing the same file twice changes nothing the second time).

use std::collections::HashMap;

use railyard_domain::{
    Actor, ApplicationRelease, Change, FieldError, Operation, WorkItem, WorkItemKind, WorkItemSpec, WorkItemStatus,
};
use railyard_store::ListQuery;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::input_limits::bounded;
use crate::persist::{Stored, Tx, check_version, seq_of};
use crate::views::{Meta, Page, page_filtered};
use crate::{Service, ServiceError, ServiceResult};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkItemView {
    #[serde(flatten)]
    pub item: WorkItem,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkItemPatch {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub kind: Option<WorkItemKind>,
    #[serde(default)]
    pub status: Option<WorkItemStatus>,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct WorkItemFilter {
    pub kind: Option<WorkItemKind>,
    pub status: Option<WorkItemStatus>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    /// Rows in the file.
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

fn view(s: Stored<WorkItem>) -> WorkItemView {
    WorkItemView { meta: Meta::of(&s), item: s.value }
}

fn from_spec(id: String, release_id: &str, spec: WorkItemSpec) -> WorkItem {
    WorkItem {
        id,
        release_id: release_id.to_string(),
        key: spec.key.trim().to_string(),
        title: spec.title.trim().to_string(),
        kind: spec.kind,
        status: spec.status,
        link: spec.link,
        source: spec.source,
    }
}

/// Whether a stored item already says what the spec says.
fn same(item: &WorkItem, spec: &WorkItemSpec) -> bool {
    item.title == spec.title.trim()
        && item.kind == spec.kind
        && item.status == spec.status
        && item.link == spec.link
        && item.source == spec.source
}

impl Service {
    async fn release_for_items(
        &self,
        actor: &Actor,
        id: &str,
        action: &str,
    ) -> ServiceResult<Stored<ApplicationRelease>> {
        let r: Stored<ApplicationRelease> = self.load(id).await?;
        r.value.guard_manage(action, actor)?;
        Ok(r)
    }

    /// Every work item of a release, by key.
    async fn items_of(&self, release_id: &str) -> ServiceResult<HashMap<String, Stored<WorkItem>>> {
        let mut q = ListQuery::new("work_item", crate::MAX_PAGE);
        q.parent_id = Some(release_id.to_string());
        let items = self.list_all::<WorkItem>(q).await?;
        Ok(items.into_iter().map(|s| (s.value.key.clone(), s)).collect())
    }

    pub async fn add_work_item(
        &self,
        actor: &Actor,
        release_id: &str,
        spec: WorkItemSpec,
    ) -> ServiceResult<WorkItemView> {
        bounded(&spec)?;
        self.authorize(actor, Operation::ManageWorkItems)?;
        spec.validate()?;
        self.release_for_items(actor, release_id, "add_work_item").await?;
        let key = format!("{release_id}:{}", spec.key.trim());
        if self.store.get_by_key("work_item", &key).await?.is_some() {
            return Err(ServiceError::Conflict(format!(
                "work item {} already exists on {release_id}",
                spec.key.trim()
            )));
        }
        let id = self.new_id("WI").await?;
        let item = from_spec(id.clone(), release_id, spec);
        let mut tx = Tx::new(actor, self.now());
        tx.insert(&item, seq_of(&id))?;
        tx.record([Change::new(
            "work_item",
            &id,
            "create",
            json!({"release_id": release_id, "key": item.key, "status": item.status}),
        )]);
        self.commit(tx).await?;
        self.work_item(actor, &id).await
    }

    pub async fn work_item(&self, actor: &Actor, id: &str) -> ServiceResult<WorkItemView> {
        self.authorize(actor, Operation::Read)?;
        Ok(view(self.load(id).await?))
    }

    pub async fn work_items(
        &self,
        actor: &Actor,
        release_id: &str,
        filter: WorkItemFilter,
    ) -> ServiceResult<Page<WorkItemView>> {
        self.authorize(actor, Operation::Read)?;
        self.load::<ApplicationRelease>(release_id).await?;
        let mut q = ListQuery::new("work_item", 0);
        q.parent_id = Some(release_id.to_string());
        q.category = filter.kind.map(|k| k.as_str().to_string());
        q.states = filter.status.map(|s| vec![s.as_str().to_string()]).unwrap_or_default();
        page_filtered(self, &mut q, filter.limit, filter.cursor.as_deref(), |_| true, |s| Ok(view(s))).await
    }

    pub async fn update_work_item(
        &self,
        actor: &Actor,
        id: &str,
        patch: WorkItemPatch,
        expected: Option<i64>,
    ) -> ServiceResult<WorkItemView> {
        bounded(&patch)?;
        self.authorize(actor, Operation::ManageWorkItems)?;
        if patch.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(ServiceError::invalid("title", "must not be empty"));
        }
        let patch = &patch;
        self.retrying(expected, move || async move {
            let mut s: Stored<WorkItem> = self.load(id).await?;
            check_version("work item", id, s.version, expected)?;
            self.release_for_items(actor, &s.value.release_id, "update_work_item").await?;
            let w = &mut s.value;
            if let Some(v) = &patch.title {
                w.title = v.trim().to_string();
            }
            if let Some(v) = patch.kind {
                w.kind = v;
            }
            if let Some(v) = patch.status {
                w.status = v;
            }
            if let Some(v) = &patch.link {
                w.link = Some(v.clone()).filter(|l| !l.is_empty());
            }
            if let Some(v) = &patch.source {
                w.source = Some(v.clone()).filter(|l| !l.is_empty());
            }
            let mut tx = Tx::new(actor, self.now());
            tx.update(&s)?;
            tx.record([Change::new(
                "work_item",
                id,
                "update",
                json!({"status": s.value.status, "title": s.value.title}),
            )]);
            self.commit(tx).await
        })
        .await?;
        self.work_item(actor, id).await
    }

    /// Imports a batch (CSV or JSON, see `railyard-import`): every row is parsed and validated before
    /// anything is written; new keys are created, changed ones updated, the rest left alone; one commit,
    /// one audit event. Importing the same file again changes nothing and records nothing.
    pub async fn import_work_items(
        &self,
        actor: &Actor,
        release_id: &str,
        bytes: &[u8],
        content_type: Option<&str>,
    ) -> ServiceResult<ImportReport> {
        self.authorize(actor, Operation::ManageWorkItems)?;
        let format = railyard_import::detect(content_type, bytes);
        let specs = railyard_import::parse(bytes, format).map_err(|e| {
            let field = e.line.map(|l| format!("line {l}")).unwrap_or_else(|| "file".to_string());
            ServiceError::Invalid(vec![FieldError::new(&field, e.message)])
        })?;
        let specs = &specs;
        self.retrying(None, move || async move {
            self.release_for_items(actor, release_id, "import_work_items").await?;
            let existing = self.items_of(release_id).await?;
            let now = self.now();
            let mut tx = Tx::new(actor, now);
            let (mut created, mut updated, mut unchanged) = (Vec::new(), Vec::new(), 0usize);
            let mut fresh = Vec::new();
            let mut item_events = Vec::new();
            for spec in specs {
                match existing.get(spec.key.trim()) {
                    Some(s) if same(&s.value, spec) => unchanged += 1,
                    Some(s) => {
                        let mut s = s.clone();
                        s.value = from_spec(s.value.id.clone(), release_id, spec.clone());
                        tx.update(&s)?;
                        item_events.push(Change::new("work_item", &s.value.id, "import_update", json!({"key": s.value.key, "status": s.value.status})));
                        updated.push(spec.key.trim().to_string());
                    }
                    None => fresh.push(spec),
                }
            }
            if !fresh.is_empty() {
                let first = self.store.reserve_seqs("WI", fresh.len() as u32).await?;
                for (i, spec) in fresh.iter().enumerate() {
                    let seq = first + i as i64;
                    let item = from_spec(format!("WI-{seq}"), release_id, (*spec).clone());
                    tx.insert(&item, seq)?;
                    item_events.push(Change::new("work_item", &item.id, "import_create", json!({"release_id": release_id, "key": item.key, "status": item.status})));
                    created.push(item.key);
                }
            }
            let report = ImportReport { rows: specs.len(), created: created.len(), updated: updated.len(), unchanged };
            if created.is_empty() && updated.is_empty() {
                return Ok(report);
            }
            // One event for the import, then one per item created or updated: all of one commit.
            tx.record([Change::new(
                "application_release",
                release_id,
                "import_work_items",
                json!({"rows": report.rows, "created": created.len(), "updated": updated.len(), "unchanged": unchanged}),
            )]);
            tx.record(item_events);
            self.commit(tx).await?;
            Ok(report)
        })
        .await
    }
}
