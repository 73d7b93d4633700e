"""A short train flow through the Python client that openapi-python-client generated from the served
OpenAPI document (package `railyard_client`, beside this file when it runs).

An admin creates the people and their tokens; the release manager creates a train and submits it;
the approver decides the train approval; the train moves through scoping and construction into
verification; it is read back; a product owner imports work items from a CSV file (the one body that is
not JSON). Refused actions come back as typed problems: the status, the code
`action_refused` and each unmet guard's code, read from the client's `Problem` model.

Usage: RAILYARD_URL=... RAILYARD_ADMIN_TOKEN=... python train_flow.py (the token in the environment,
not in the arguments, where any local user could read it). Prints one line per step; exits non-zero on the
first answer that is not what a client of the document may expect.
"""

import datetime
import io
import os
import sys
import time
from http import HTTPStatus
from typing import Any, TypeVar

from railyard_client import AuthenticatedClient
from railyard_client.api.application_releases import create_application_release
from railyard_client.api.applications import create_application
from railyard_client.api.approvals import approve_approval, get_approval
from railyard_client.api.gates import add_exit_criterion, meet_exit_criterion
from railyard_client.api.tokens import create_token
from railyard_client.api.train_lifecycle import (
    start_train_construction,
    start_train_verification,
    submit_train,
)
from railyard_client.api.trains import create_train, get_train, list_trains
from railyard_client.api.users import create_user
from railyard_client.api.work_items import import_work_items, list_work_items
from railyard_client.models import (
    ApplicationSpec,
    ApplicationView,
    ApprovalPolicies,
    ApprovalPolicy,
    ApprovalRef,
    ApprovalState,
    ApprovalView,
    CriterionSpec,
    CriterionState,
    DecideCriterionInput,
    DecideInput,
    Evidence,
    ExitCriterion,
    Gate,
    GateName,
    Gates,
    ImportReport,
    NewToken,
    NewUser,
    PageTrainView,
    PageWorkItemView,
    PolicyLevel,
    Problem,
    ReleaseSchedule,
    ReleaseSpec,
    ReleaseType,
    ReleaseView,
    Role,
    Schedule,
    TokenView,
    TrainSpec,
    TrainState,
    TrainView,
    UserView,
    WorkItemKind,
    WorkItemStatus,
)
from railyard_client.types import File, Response

T = TypeVar("T")


class FlowError(Exception):
    pass


def expect(response: Response[Any], kind: type[T], status: HTTPStatus = HTTPStatus.OK) -> T:
    """The parsed answer, which must be of `kind` with `status`."""
    parsed = response.parsed
    if response.status_code != status or not isinstance(parsed, kind):
        raise FlowError(
            f"expected {status.value} {kind.__name__}, got {response.status_code.value} "
            f"{type(parsed).__name__}: {response.content.decode(errors='replace')}"
        )
    return parsed


def refused(response: Response[Any], guard: str) -> Problem:
    """The typed problem of a refused action, which must list `guard` among its unmet guards."""
    problem = expect(response, Problem, HTTPStatus.CONFLICT)
    if problem.status != 409 or problem.code != "action_refused" or guard not in guard_codes(problem):
        raise FlowError(f"expected action_refused with guard {guard}, got {problem.to_dict()}")
    return problem


def guard_codes(problem: Problem) -> list[str]:
    return [g.code for g in problem.guards or []]


def check(condition: bool, what: str) -> None:
    if not condition:
        raise FlowError(what)


def scoping_criteria(train: TrainView) -> list[ExitCriterion]:
    """The exit criteria of the train's scoping gate: at least one."""
    gates = train.gates
    scoping = gates.scoping if isinstance(gates, Gates) else None
    if isinstance(scoping, Gate) and isinstance(scoping.criteria, list) and scoping.criteria:
        return scoping.criteria
    raise FlowError(f"no criterion in the scoping gate: {train.to_dict()}")


def step(what: str) -> None:
    print(f"  {what}", flush=True)


def person(admin: AuthenticatedClient, base_url: str, name: str, roles: list[Role]) -> AuthenticatedClient:
    """A new user with the roles, and a client acting with a token of theirs."""
    user = expect(
        create_user.sync_detailed(client=admin, body=NewUser(name=name, roles=roles)), UserView, HTTPStatus.CREATED
    )
    check(user.name == name, f"created user {user.name}, not {name}")
    token = expect(
        create_token.sync_detailed(client=admin, body=NewToken(label="python client", user=name)),
        TokenView,
        HTTPStatus.CREATED,
    )
    check(isinstance(token.token, str) and token.user == name, f"no secret in the new token of {name}")
    assert isinstance(token.token, str)
    return AuthenticatedClient(base_url=base_url, token=token.token)


def main(base_url: str, admin_token: str) -> None:
    started = time.monotonic()
    admin = AuthenticatedClient(base_url=base_url, token=admin_token)
    rita = person(admin, base_url, "rita", [Role.RELEASE_MANAGER])
    alice = person(admin, base_url, "alice", [Role.DEVELOPER])
    eve = person(admin, base_url, "eve", [Role.PRODUCT_OWNER])
    step("users rita (release manager), alice (train approver) and eve (executive approver, product owner) with tokens")

    start = datetime.date(2027, 1, 4)
    spec = TrainSpec(
        title="2027.1",
        release_type=ReleaseType.MAJOR,
        purpose="Q1 release, driven by the generated Python client",
        schedule=Schedule(
            start=start,
            scoping_end=start + datetime.timedelta(days=11),
            construction_end=start + datetime.timedelta(days=39),
            verification_end=start + datetime.timedelta(days=53),
            production_date=start + datetime.timedelta(days=61),
        ),
        approval_policies=ApprovalPolicies(
            train=ApprovalPolicy(levels=[PolicyLevel(approvers=["alice"], required=1)]),
            executive=ApprovalPolicy(levels=[PolicyLevel(approvers=["eve"], required=1)]),
        ),
    )
    train = expect(create_train.sync_detailed(client=rita, body=spec), TrainView, HTTPStatus.CREATED)
    check(train.state == TrainState.DRAFT and train.manager == "rita", f"new train: {train.state} by {train.manager}")
    check(train.schedule.production_date == datetime.date(2027, 3, 6), f"schedule: {train.schedule.to_dict()}")
    step(f"{train.id} created: {train.state}")

    # Out of order: construction cannot start from draft.
    problem = refused(start_train_construction.sync_detailed(train.id, client=rita), "wrong_state")
    step(f"start construction from draft refused: {problem.status} {problem.code} {guard_codes(problem)}")

    train = expect(submit_train.sync_detailed(train.id, client=rita), TrainView)
    check(train.state == TrainState.AWAITING_TRAIN_APPROVAL, f"submitted: {train.state}")
    approval_ref = train.train_approval
    if not isinstance(approval_ref, ApprovalRef) or approval_ref.state != ApprovalState.PENDING:
        raise FlowError(f"no pending train approval: {train.to_dict()}")
    approval_id = approval_ref.id
    step(f"{train.id} submitted: {train.state}, approval {approval_id}")

    # The requester cannot decide it (segregation of duties).
    problem = refused(approve_approval.sync_detailed(approval_id, client=rita, body=DecideInput()), "own_request")
    step(f"rita approving her own request refused: {problem.status} {problem.code} {guard_codes(problem)}")

    approval = expect(
        approve_approval.sync_detailed(approval_id, client=alice, body=DecideInput(comment="scope is right")),
        ApprovalView,
    )
    check(approval.state == ApprovalState.APPROVED, f"approval after alice: {approval.state}")
    approval = expect(get_approval.sync_detailed(approval_id, client=rita), ApprovalView)
    check(approval.requested_by == "rita" and approval.waiting_for == [], f"approval read back: {approval.to_dict()}")
    train = expect(get_train.sync_detailed(train.id, client=rita), TrainView)
    check(train.state == TrainState.SCOPING, f"after the train approval: {train.state}")
    step(f"alice approved {approval_id}: {train.id} is {train.state}")

    # The scoping gate gets a criterion; while it is open, construction cannot start.
    train = expect(
        add_exit_criterion.sync_detailed(
            train.id, GateName.SCOPING, client=rita, body=CriterionSpec(title="Scope signed off", owner="alice")
        ),
        TrainView,
        HTTPStatus.CREATED,
    )
    criterion = scoping_criteria(train)[0]
    check(criterion.state == CriterionState.OPEN and criterion.owner == "alice", f"new criterion: {criterion}")
    problem = refused(start_train_construction.sync_detailed(train.id, client=rita), "criterion_open")
    messages = " ".join(g.message for g in problem.guards or [])
    check(criterion.id in messages, f"the refusal does not name {criterion.id}: {messages}")
    step(f"start construction with {criterion.id} open refused: {problem.status} {problem.code}: {messages}")

    evidence = Evidence(note="signed by the product owners", link="https://wiki.example/scope")
    train = expect(
        meet_exit_criterion.sync_detailed(
            train.id, criterion.id, client=alice, body=DecideCriterionInput(evidence=evidence)
        ),
        TrainView,
    )
    met = scoping_criteria(train)[0]
    check(met.state == CriterionState.MET and met.decided_by == "alice", f"criterion after meeting it: {met}")
    check(isinstance(met.evidence, Evidence) and met.evidence.note == evidence.note, f"evidence: {met.evidence}")
    step(f"alice met {criterion.id}")

    train = expect(start_train_construction.sync_detailed(train.id, client=rita), TrainView)
    check(train.state == TrainState.CONSTRUCTION, f"after start construction: {train.state}")
    step(f"{train.id} is {train.state}")
    train = expect(start_train_verification.sync_detailed(train.id, client=rita), TrainView)
    check(train.state == TrainState.VERIFICATION, f"after start verification: {train.state}")
    step(f"{train.id} is {train.state}")

    # Read back: the train, its history, and the list filtered by state.
    train = expect(get_train.sync_detailed(train.id, client=alice), TrainView)
    path = [(t.from_, t.to) for t in train.history or []]
    check(
        path
        == [
            (TrainState.DRAFT, TrainState.AWAITING_TRAIN_APPROVAL),
            (TrainState.AWAITING_TRAIN_APPROVAL, TrainState.SCOPING),
            (TrainState.SCOPING, TrainState.CONSTRUCTION),
            (TrainState.CONSTRUCTION, TrainState.VERIFICATION),
        ],
        f"history: {path}",
    )
    check(train.version >= 5 and train.updated_at >= train.created_at, f"metadata: {train.version}")
    page = expect(list_trains.sync_detailed(client=alice, state="verification"), PageTrainView)
    check([t.id for t in page.items] == [train.id], f"trains in verification: {[t.id for t in page.items]}")
    check(all(isinstance(t, TrainView) for t in page.items), "listed trains are not TrainView")
    step(f"read back: {' -> '.join([path[0][0].value, *(to.value for _, to in path)])}; listed in verification")
    # The one operation whose body is a file, not JSON: eve imports work items into her release from CSV.
    expect(
        create_application.sync_detailed(client=eve, body=ApplicationSpec(key="PAY", name="Payments")),
        ApplicationView,
        HTTPStatus.CREATED,
    )
    release = expect(
        create_application_release.sync_detailed(
            client=eve,
            body=ReleaseSpec(
                application="PAY",
                title="PAY 1",
                schedule=ReleaseSchedule(start=start, end=start + datetime.timedelta(days=28)),
            ),
        ),
        ReleaseView,
        HTTPStatus.CREATED,
    )
    csv = b"key,title,kind,status\r\nPAY-142,Refunds in one click,business_request,done\r\n"
    report = expect(
        import_work_items.sync_detailed(
            release.id, client=eve, body=File(payload=io.BytesIO(csv), file_name="items.csv", mime_type="text/csv")
        ),
        ImportReport,
    )
    check((report.rows, report.created, report.updated) == (1, 1, 0), f"import: {report.to_dict()}")
    items = expect(list_work_items.sync_detailed(release.id, client=eve), PageWorkItemView).items
    check(
        [(i.key, i.kind, i.status) for i in items] == [("PAY-142", WorkItemKind.BUSINESS_REQUEST, WorkItemStatus.DONE)],
        f"work items of {release.id}: {[i.to_dict() for i in items]}",
    )
    step(f"eve imported {items[0].key} into {release.id} from a CSV file")
    print(f"train flow passed in {time.monotonic() - started:.2f} s", flush=True)


if __name__ == "__main__":
    url, token = os.environ.get("RAILYARD_URL"), os.environ.get("RAILYARD_ADMIN_TOKEN")
    if not url or not token:
        sys.exit("set RAILYARD_URL (e.g. http://127.0.0.1:8080) and RAILYARD_ADMIN_TOKEN")
    try:
        main(url, token)
    except FlowError as e:
        sys.exit(f"train flow failed: {e}")
