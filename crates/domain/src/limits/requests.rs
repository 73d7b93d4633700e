//! The bounds of the domain's request types (see the table in [`super`]).

use super::{Bounded, Limits, MAX_APPROVERS, MAX_ARGS, MAX_BATCH, MAX_LEVELS, MAX_LIST, MAX_STAGES};
use crate::action::{Action, CommandAction, HttpAction};
use crate::release::ReleaseAction;
use crate::{
    ApplicationPatch, ApplicationSpec, ApprovalPolicies, ApprovalPolicy, Artifact, CriterionPatch, CriterionSpec,
    EnvironmentPatch, EnvironmentSpec, EventSpec, Evidence, MilestonePatch, MilestoneSpec, PathPatch, PathSpec,
    PolicyLevel, ProductionSpec, ReleasePatch, ReleaseSchedule, ReleaseSpec, ReorderEntry, RunbookSpec, Schedule,
    Stage, TaskPatch, TaskSpec, TrainAction, TrainPatch, TrainSpec, TurnoverPatch, TurnoverSpec, WorkItemSpec,
};

impl Bounded for ApplicationSpec {
    fn check_limits(&self, l: &mut Limits) {
        l.name("key", &self.key);
        l.name("name", &self.name);
        l.name("owner", &self.owner);
        l.text("description", &self.description);
    }
}

impl Bounded for ApplicationPatch {
    fn check_limits(&self, l: &mut Limits) {
        l.name("name", &self.name);
        l.name("owner", &self.owner);
        l.text("description", &self.description);
    }
}

impl Bounded for Schedule {
    fn check_limits(&self, l: &mut Limits) {
        for (name, date) in self.dates() {
            l.date(name, Some(date));
        }
    }
}

impl Bounded for PolicyLevel {
    fn check_limits(&self, l: &mut Limits) {
        l.names("approvers", &self.approvers, MAX_APPROVERS);
    }
}

impl Bounded for ApprovalPolicy {
    fn check_limits(&self, l: &mut Limits) {
        l.each("levels", &self.levels, MAX_LEVELS);
    }
}

impl Bounded for ApprovalPolicies {
    fn check_limits(&self, l: &mut Limits) {
        l.nested("train", self.train.as_ref());
        l.nested("development", self.development.as_ref());
        l.nested("executive", self.executive.as_ref());
        l.nested("gate", self.gate.as_ref());
    }
}

impl Bounded for TrainSpec {
    fn check_limits(&self, l: &mut Limits) {
        l.name("title", &self.title);
        l.text("purpose", &self.purpose);
        l.name("manager", &self.manager);
        l.names("engineers", &self.engineers, MAX_LIST);
        l.nested("schedule", Some(&self.schedule));
        l.nested("approval_policies", Some(&self.approval_policies));
        l.names("reserved_environments", &self.reserved_environments, MAX_LIST);
        l.list("gate_approvals", &self.gate_approvals, MAX_LIST);
    }
}

impl Bounded for TrainPatch {
    fn check_limits(&self, l: &mut Limits) {
        l.name("title", &self.title);
        l.text("purpose", &self.purpose);
        l.name("manager", &self.manager);
        l.names("engineers", self.engineers.as_deref().unwrap_or_default(), MAX_LIST);
        l.nested("schedule", self.schedule.as_ref());
        l.nested("approval_policies", self.approval_policies.as_ref());
        l.names("reserved_environments", self.reserved_environments.as_deref().unwrap_or_default(), MAX_LIST);
    }
}

impl Bounded for CriterionSpec {
    fn check_limits(&self, l: &mut Limits) {
        l.name("title", &self.title);
        l.name("owner", &self.owner);
        l.name("environment", &self.environment);
    }
}

impl Bounded for CriterionPatch {
    fn check_limits(&self, l: &mut Limits) {
        l.name("title", &self.title);
        l.name("owner", &self.owner);
        l.name("environment", &self.environment);
    }
}

impl Bounded for Evidence {
    fn check_limits(&self, l: &mut Limits) {
        l.text("note", &self.note);
        l.link("link", &self.link);
    }
}

impl Bounded for MilestoneSpec {
    fn check_limits(&self, l: &mut Limits) {
        l.name("title", &self.title);
        l.date("due", Some(self.due));
        l.name("owner", &self.owner);
    }
}

impl Bounded for MilestonePatch {
    fn check_limits(&self, l: &mut Limits) {
        l.name("title", &self.title);
        l.date("due", self.due);
        l.name("owner", &self.owner);
    }
}

impl Bounded for EnvironmentSpec {
    fn check_limits(&self, l: &mut Limits) {
        l.name("name", &self.name);
        l.name("owner", &self.owner);
        l.text("description", &self.description);
    }
}

impl Bounded for EnvironmentPatch {
    fn check_limits(&self, l: &mut Limits) {
        l.name("owner", &self.owner);
        if let Some(labels) = &self.runner_labels {
            l.names("runner_labels", labels, crate::runner::MAX_LABELS);
        }
        l.text("description", &self.description);
    }
}

impl Bounded for EventSpec {
    fn check_limits(&self, l: &mut Limits) {
        l.name("title", &self.title);
        l.time("start", Some(self.start));
        l.time("end", Some(self.end));
        l.name("train_id", &self.train_id);
    }
}

impl Bounded for Stage {
    fn check_limits(&self, l: &mut Limits) {
        l.name("environment", &self.environment);
    }
}

impl Bounded for PathSpec {
    fn check_limits(&self, l: &mut Limits) {
        l.name("name", &self.name);
        l.text("description", &self.description);
        l.list("release_types", &self.release_types, MAX_LIST);
        l.each("stages", &self.stages, MAX_STAGES);
    }
}

impl Bounded for PathPatch {
    fn check_limits(&self, l: &mut Limits) {
        l.name("name", &self.name);
        l.text("description", &self.description);
        l.list("release_types", self.release_types.as_deref().unwrap_or_default(), MAX_LIST);
        l.each("stages", self.stages.as_deref().unwrap_or_default(), MAX_STAGES);
    }
}

impl Bounded for ReleaseSchedule {
    fn check_limits(&self, l: &mut Limits) {
        l.date("start", Some(self.start));
        l.date("end", Some(self.end));
    }
}

impl Bounded for ReleaseSpec {
    fn check_limits(&self, l: &mut Limits) {
        l.name("title", &self.title);
        l.name("application", &self.application);
        l.name("product_owner", &self.product_owner);
        l.nested("schedule", Some(&self.schedule));
        l.names("allowed_paths", &self.allowed_paths, MAX_LIST);
        l.name("train", &self.train);
    }
}

impl Bounded for ReleasePatch {
    fn check_limits(&self, l: &mut Limits) {
        l.name("title", &self.title);
        l.name("product_owner", &self.product_owner);
        l.nested("schedule", self.schedule.as_ref());
        l.names("allowed_paths", self.allowed_paths.as_deref().unwrap_or_default(), MAX_LIST);
    }
}

impl Bounded for Artifact {
    fn check_limits(&self, l: &mut Limits) {
        l.name("name", &self.name);
        l.name("version", &self.version);
        l.name("digest", &self.digest);
        l.link("link", &self.link);
    }
}

impl Bounded for TurnoverSpec {
    fn check_limits(&self, l: &mut Limits) {
        l.name("title", &self.title);
        l.name("release", &self.release);
        l.name("path", &self.path);
        l.text("description", &self.description);
        l.name("developer", &self.developer);
        l.each("artifacts", &self.artifacts, MAX_LIST);
    }
}

impl Bounded for TurnoverPatch {
    fn check_limits(&self, l: &mut Limits) {
        l.name("title", &self.title);
        l.text("description", &self.description);
        l.name("developer", &self.developer);
        l.each("artifacts", self.artifacts.as_deref().unwrap_or_default(), MAX_LIST);
    }
}

impl Bounded for ProductionSpec {
    fn check_limits(&self, l: &mut Limits) {
        l.name("title", &self.title);
        l.names("releases", &self.releases, MAX_LIST);
        l.names("environments", &self.environments, MAX_LIST);
        l.name("from", &self.from);
        l.text("description", &self.description);
        l.name("developer", &self.developer);
        l.each("artifacts", &self.artifacts, MAX_LIST);
    }
}

impl Bounded for CommandAction {
    fn check_limits(&self, l: &mut Limits) {
        l.path("program", &self.program);
        l.list("args", &self.args, MAX_ARGS);
        for (i, arg) in self.args.iter().enumerate().take(MAX_ARGS) {
            l.text(&format!("args[{i}]"), arg);
        }
        l.variables("env", self.env.iter());
        l.path("working_dir", &self.working_dir);
    }
}

impl Bounded for HttpAction {
    fn check_limits(&self, l: &mut Limits) {
        l.name("method", &self.method);
        l.link("url", &self.url);
        l.variables("headers", self.headers.iter());
        l.text("body", &self.body);
        l.list("expected_status", &self.expected_status, MAX_LIST);
    }
}

impl Bounded for Action {
    fn check_limits(&self, l: &mut Limits) {
        match self {
            Action::Command(c) => c.check_limits(l),
            Action::Http(h) => h.check_limits(l),
        }
    }
}

impl Bounded for TaskSpec {
    fn check_limits(&self, l: &mut Limits) {
        l.name("title", &self.title);
        l.name("owner", &self.owner);
        l.nested("action", self.action.as_ref());
        l.names("environments", &self.environments, MAX_LIST);
        l.name("tier", &self.tier);
        l.name("release", &self.release);
    }
}

impl Bounded for TaskPatch {
    fn check_limits(&self, l: &mut Limits) {
        l.name("title", &self.title);
        l.name("owner", &self.owner);
        l.nested("action", self.action.as_ref());
        l.names("environments", self.environments.as_deref().unwrap_or_default(), MAX_LIST);
        l.name("tier", &self.tier);
    }
}

impl Bounded for ReorderEntry {
    fn check_limits(&self, l: &mut Limits) {
        l.name("task", &self.task);
    }
}

impl Bounded for RunbookSpec {
    fn check_limits(&self, l: &mut Limits) {
        l.name("name", &self.name);
        l.text("description", &self.description);
        l.names("environments", &self.environments, MAX_LIST);
        l.names("applications", &self.applications, MAX_LIST);
        l.each("tasks", &self.tasks, MAX_BATCH);
    }
}

impl Bounded for WorkItemSpec {
    fn check_limits(&self, l: &mut Limits) {
        l.name("key", &self.key);
        l.name("title", &self.title);
        l.link("link", &self.link);
        l.name("source", &self.source);
    }
}

impl Bounded for TrainAction {
    fn check_limits(&self, l: &mut Limits) {
        if let TrainAction::Cancel { reason } = self {
            l.text("reason", reason);
        }
    }
}

impl Bounded for ReleaseAction {
    fn check_limits(&self, l: &mut Limits) {
        if let ReleaseAction::SendBack { reason } | ReleaseAction::Cancel { reason } = self {
            l.text("reason", reason);
        }
    }
}

impl Bounded for crate::VariableSpec {
    fn check_limits(&self, l: &mut Limits) {
        l.name("name", &self.name);
        l.text("value", &self.value);
        match &self.scope {
            crate::Scope::Global => {}
            crate::Scope::Environment { environment } => l.name("scope.environment", environment),
            crate::Scope::Application { application } => l.name("scope.application", application),
        }
    }
}

impl Bounded for crate::VariablePatch {
    fn check_limits(&self, l: &mut Limits) {
        l.text("value", &self.value);
    }
}

impl Bounded for crate::SecretSpec {
    fn check_limits(&self, l: &mut Limits) {
        l.name("name", &self.name);
        // The value's own bounds (4 bytes to 8 KiB) are checked by `secret::check_value`.
        match &self.scope {
            crate::Scope::Global => {}
            crate::Scope::Environment { environment } => l.name("scope.environment", environment),
            crate::Scope::Application { application } => l.name("scope.application", application),
        }
    }
}

impl Bounded for crate::SecretPatch {
    fn check_limits(&self, _: &mut Limits) {}
}
impl Bounded for crate::RunnerSpec {
    fn check_limits(&self, l: &mut Limits) {
        l.name("name", &self.name);
        l.names("labels", &self.labels, crate::runner::MAX_LABELS);
        l.text("description", &self.description);
    }
}
