//! The bounds of the service's own request types (the table is in `railyard_domain::limits`). Every
//! use case taking one of them checks it first with [`bounded`], so the web console's forms meet the
//! same bounds as the API.

use railyard_domain::limits::{self, Bounded, Limits, MAX_BATCH, MAX_LIST, MAX_STAGES};

use crate::{
    CompleteRunInput, CopyInput, CopyTasksInput, DecideCriterionInput, DecideInput, DependencyInput, DeployInput,
    GateInput, LineInput, LinkInput, NewToken, NewUser, OverrideInput, PasswordInput, ProposeInput, ReasonInput,
    ReorderInput, RetryInput, ReviewInput, RollbackInput, RunbookRef, SaveAsRunbookInput, ScheduleInput, ServiceResult,
    StartInput, StateReason, UserPatch, ValidateInput, VerifyInput, WorkItemPatch,
};

/// Refuses an input with a field past its bound, naming each such field and its bound.
pub(crate) fn bounded<T: Bounded + ?Sized>(input: &T) -> ServiceResult<()> {
    Ok(limits::check(input)?)
}

impl Bounded for CompleteRunInput {
    fn check_limits(&self, l: &mut Limits) {
        l.text("note", &self.note);
    }
}

impl Bounded for CopyInput {
    fn check_limits(&self, l: &mut Limits) {
        l.date("start", Some(self.start));
        l.name("title", &self.title);
    }
}

impl Bounded for CopyTasksInput {
    fn check_limits(&self, l: &mut Limits) {
        l.names("from", &self.from, MAX_LIST);
        l.names("tasks", &self.tasks, MAX_BATCH);
    }
}

impl Bounded for DecideCriterionInput {
    fn check_limits(&self, l: &mut Limits) {
        l.nested("evidence", self.evidence.as_ref());
        l.text("reason", &self.reason);
    }
}

impl Bounded for DecideInput {
    fn check_limits(&self, l: &mut Limits) {
        l.text("comment", &self.comment);
    }
}

impl Bounded for DependencyInput {
    fn check_limits(&self, l: &mut Limits) {
        l.name("depends_on", &self.depends_on);
    }
}

impl Bounded for DeployInput {
    fn check_limits(&self, l: &mut Limits) {
        l.names("skip", &self.skip, MAX_STAGES);
    }
}

impl Bounded for GateInput {
    fn check_limits(&self, _: &mut Limits) {}
}

impl Bounded for LineInput {
    fn check_limits(&self, l: &mut Limits) {
        l.text("reason", &self.reason);
    }
}

impl Bounded for LinkInput {
    fn check_limits(&self, l: &mut Limits) {
        l.names("work_items", &self.work_items, MAX_BATCH);
    }
}

impl Bounded for NewToken {
    fn check_limits(&self, l: &mut Limits) {
        l.name("label", &self.label);
        l.name("user", &self.user);
    }
}

impl Bounded for NewUser {
    fn check_limits(&self, l: &mut Limits) {
        l.name("name", &self.name);
        l.name("display_name", &self.display_name);
        l.name("email", &self.email);
        l.list("roles", &self.roles, MAX_LIST);
        l.name("password", &self.password);
        l.name("time_zone", &self.time_zone);
    }
}

impl Bounded for OverrideInput {
    fn check_limits(&self, l: &mut Limits) {
        l.text("reason", &self.reason);
    }
}

impl Bounded for PasswordInput {
    fn check_limits(&self, l: &mut Limits) {
        l.name("password", &self.password);
    }
}

impl Bounded for ProposeInput {
    fn check_limits(&self, l: &mut Limits) {
        l.name("train", &self.train);
    }
}

impl Bounded for ReasonInput {
    fn check_limits(&self, l: &mut Limits) {
        l.text("reason", &self.reason);
    }
}

impl Bounded for ReorderInput {
    fn check_limits(&self, l: &mut Limits) {
        l.each("order", &self.order, MAX_BATCH);
    }
}

impl Bounded for RetryInput {
    fn check_limits(&self, l: &mut Limits) {
        l.names("rerun", &self.rerun, MAX_BATCH);
    }
}

impl Bounded for ReviewInput {
    fn check_limits(&self, l: &mut Limits) {
        l.text("comment", &self.comment);
    }
}

impl Bounded for RollbackInput {
    fn check_limits(&self, l: &mut Limits) {
        l.name("environment", &self.environment);
        l.text("reason", &self.reason);
    }
}

impl Bounded for RunbookRef {
    fn check_limits(&self, l: &mut Limits) {
        l.name("runbook", &self.runbook);
    }
}

impl Bounded for SaveAsRunbookInput {
    fn check_limits(&self, l: &mut Limits) {
        l.name("name", &self.name);
    }
}

impl Bounded for ScheduleInput {
    fn check_limits(&self, l: &mut Limits) {
        l.name("environment", &self.environment);
        l.time("at", Some(self.at));
    }
}

impl Bounded for StartInput {
    fn check_limits(&self, l: &mut Limits) {
        l.text("reason", &self.reason);
    }
}

impl Bounded for StateReason {
    fn check_limits(&self, l: &mut Limits) {
        l.text("reason", &self.reason);
    }
}

impl Bounded for UserPatch {
    fn check_limits(&self, l: &mut Limits) {
        l.name("display_name", &self.display_name);
        l.name("email", &self.email);
        l.list("roles", self.roles.as_deref().unwrap_or_default(), MAX_LIST);
        l.name("time_zone", &self.time_zone);
    }
}

impl Bounded for ValidateInput {
    fn check_limits(&self, l: &mut Limits) {
        l.text("note", &self.note);
    }
}

impl Bounded for VerifyInput {
    fn check_limits(&self, l: &mut Limits) {
        l.name("environment", &self.environment);
        l.text("note", &self.note);
    }
}

impl Bounded for WorkItemPatch {
    fn check_limits(&self, l: &mut Limits) {
        l.name("title", &self.title);
        l.link("link", &self.link);
        l.name("source", &self.source);
    }
}

// The runner protocol's bodies: the service checks each line's stream and length itself, with the
// protocol's own bounds (see `runner_protocol.rs`).
impl Bounded for crate::ClaimInput {
    fn check_limits(&self, l: &mut Limits) {
        l.list("in_flight", &self.in_flight, railyard_domain::runner::MAX_CAPACITY as usize);
    }
}

impl Bounded for crate::HeartbeatInput {
    fn check_limits(&self, l: &mut Limits) {
        l.list("lines", &self.lines, crate::runner_protocol::MAX_LINES_PER_CALL);
    }
}

impl Bounded for crate::ResultInput {
    fn check_limits(&self, l: &mut Limits) {
        l.list("lines", &self.lines, crate::runner_protocol::MAX_LINES_PER_CALL);
    }
}
