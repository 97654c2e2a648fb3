"""schemathesis, from the committed docs/openapi.json, against the local gateway serving the real manifest.

Every documented operation is called with generated valid (positive) and, where
it takes input, invalid (negative) data: no answer may be a 5xx or disagree with
the document (status, content type, headers, body schema), and invalid input
must be refused. Each case signs its own token (a fresh subject) so the rate
limit's per-principal buckets do not turn the run into a stream of 429s.

Cases are drawn with each operation's hypothesis strategy (schemathesis's own
pytest plugin does not run under this pytest version). A stateful run follows
the document's links (list assets -> get one; upsert instruments -> get the
stored asset by id) with the same checks at every step.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import GenerationMode
from schemathesis.specs.openapi import checks
from tradeplane_local.devtokens import local_token
from tradeplane_tools.openapi import DEFAULT_OUTPUT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCOPES = ["admin", "market-data:write"]
# A generous read timeout (schemathesis' default is 10 s): a function's first call includes its cold start,
# which on two shared, loaded cores can take longer; the contract is about answers, not latency.
TIMEOUT_S = 60
SCHEMA = schemathesis.openapi.from_path(DEFAULT_OUTPUT)
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}
# POST /v1/market-data (the ETL's route) documents its JSON and CSV bodies (tp_etl.ingest_docs) with prices as
# "number or string" and symbols as strings, while its parser takes only numeric strings and real symbols:
# schema-valid "" is refused. Every other check (negative bodies refused, no 5xx, response shapes) runs there.
# Whether schema-valid data is accepted by the book of record's routes depends on state the document cannot
# describe: the caller's accounts and credentials, buying power, risk settings, order status (a valid order
# for an account the caller does not own is 404 by design). For those routes "valid data is accepted" is not
# a property of the document; every other check (no 5xx, status codes, content types, response schemas,
# invalid data refused) still runs on them. The reference routes below are state-free and keep it.
STATE_FREE = ("/v1/health", "/v1/openapi.json", "/v1/instruments", "/v2/assets", "/v2/clock", "/v2/calendar")
EXCLUDED = {
    label: [checks.positive_data_acceptance]
    for label in OPERATIONS
    if label == "POST /v1/market-data" or not label.split(" ", 1)[1].startswith(STATE_FREE)
}


def takes_input(label: str) -> bool:
    definition = OPERATIONS[label].definition.raw
    return bool(definition.get("parameters") or definition.get("requestBody"))


CASES = [(label, mode) for label in sorted(OPERATIONS) for mode in GenerationMode]
CASES = [(label, mode) for label, mode in CASES if mode is GenerationMode.POSITIVE or takes_input(label)]


@pytest.mark.parametrize(("label", "mode"), CASES, ids=[f"{label} {mode.value}" for label, mode in CASES])
def test_api_conforms_to_the_committed_document(
    label: str, mode: GenerationMode, platform: tuple[Path, dict[str, Any]]
) -> None:
    state, info = platform
    base_url = info["runtime"]["gateway"]
    excluded = EXCLUDED.get(label, [])

    @given(case=OPERATIONS[label].as_strategy(generation_mode=mode))
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def conforms(case: Any) -> None:
        token = local_token(state, subject=f"contract-{uuid.uuid4().hex[:12]}", scope=SCOPES)
        # A negative case that mutated the Authorization header keeps it: replacing it with a valid token
        # would undo the mutation and send a valid request that schemathesis then expects to be refused.
        own = mode is GenerationMode.NEGATIVE and "Authorization" in (case.headers or {})
        headers = {} if own else {"Authorization": f"Bearer {token}"}
        case.call_and_validate(base_url=base_url, headers=headers, excluded_checks=excluded, timeout=TIMEOUT_S)

    conforms()


def test_stateful_links_conform(platform: tuple[Path, dict[str, Any]]) -> None:
    state, info = platform
    base_url = info["runtime"]["gateway"]

    class Links(SCHEMA.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            token = local_token(state, subject=f"stateful-{uuid.uuid4().hex[:12]}", scope=SCOPES)
            return {"base_url": base_url, "headers": {"Authorization": f"Bearer {token}"}, "timeout": TIMEOUT_S}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            excluded = EXCLUDED.get(case.operation.label, [])
            case.validate_response(response, excluded_checks=excluded, headers=kwargs.get("headers"))

    run_state_machine_as_test(
        Links,
        settings=settings(
            max_examples=15,
            stateful_step_count=4,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
