"""Schemathesis fuzzes the live API from its own OpenAPI document: no 5xx, and every
response (status code, content type, body) matches the schema. Bounded: a few examples per
operation. The endless event stream is covered in test_api.py instead."""

from __future__ import annotations

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pllm_sync.api.openapi import openapi_document

from .conftest import LiveApi

schema = schemathesis.openapi.from_dict(openapi_document())


def test_fuzz_every_operation(live_api: LiveApi) -> None:
    session = requests.Session()
    session.trust_env = False
    ops = []
    for result in schema.get_all_operations():
        op = result.ok()  # type: ignore[union-attr]  # an Err would mean an invalid schema
        if op.path != "/v1/events":
            ops.append(op)
    assert len(ops) >= 8
    strategy = st.one_of(*[op.as_strategy() for op in ops])

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
        resp = case.call(base_url=live_api.url, session=session, headers=live_api.auth)
        assert resp.status_code < 500, (case.method, case.path, resp.text)
        case.validate_response(resp)

    check()
