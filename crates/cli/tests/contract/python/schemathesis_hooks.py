"""Schemathesis hooks of the contract test (schemathesis.rs): the run never takes away its own access.

Schemathesis feeds ids it saw in answers into later requests, and an admin may revoke any token and
deactivate any user: depending on what it generates, a run could revoke the very token it sends (as
one did) or deactivate its own user, and then see nothing but 401 and 429 for the rest of the run. So
the cases that would revoke the run's token or change the run's user are left out; every operation
is still tested, with every other value.
"""

import os

import schemathesis

TOKEN_ID = os.environ["RAILYARD_CONTRACT_TOKEN_ID"]
USER = os.environ["RAILYARD_CONTRACT_USER"]


@schemathesis.hook
def filter_case(context: schemathesis.HookContext, case: schemathesis.Case) -> bool:
    operation = case.operation
    target = (case.path_parameters or {}).get("id" if "/tokens/" in operation.path else "name")
    if operation.method.upper() == "POST" and operation.path.endswith("/tokens/{id}/revoke"):
        return target != TOKEN_ID
    if operation.method.upper() == "PATCH" and operation.path.endswith("/users/{name}"):
        return target != USER
    return True
