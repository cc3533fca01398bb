"""Schemathesis over every operation of the OpenAPI schema, postback reception included: data
that fits the schema and data that does not, sent with the admin token over real HTTP. Nothing
may answer with a server error.

The app runs in the test's event loop (tests/fixtures.py `live_server`); schemathesis and
hypothesis are synchronous, so they run in a thread while the loop serves them."""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from postback.app import create_api
from tests.fixtures import ADMIN_TOKEN, make_settings

# The schema as the app builds it, read without starting the app, to name one test per
# operation; the test checks that the running app serves the same one.
SCHEMA = create_api(make_settings("postgresql://unused@127.0.0.1/unused", Path("unused"))).openapi()
OPERATIONS = sorted(
    f"{method.upper()} {path}" for path, methods in SCHEMA["paths"].items() for method in methods
)
# Data that does not fit the schema exists only for operations that take some input.
TAKES_INPUT = {
    f"{method.upper()} {path}"
    for path, methods in SCHEMA["paths"].items()
    for method, operation in methods.items()
    if operation.get("parameters") or operation.get("requestBody")
}
CASES = [
    (label, mode)
    for label in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or label in TAKES_INPUT
]
EXAMPLES_PER_OPERATION = 25
HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

# The schema documents postback fields as free strings, so data that fits it is nearly
# always refused (422: no conversion_id, 'abc' as an amount). To reach the storing path
# too, the same operation again with its typed fields narrowed to valid values: free-text
# fields (names, sub ids, status) stay arbitrary Unicode and must be stored, not crash.
AMOUNT = {"type": "string", "pattern": r"^[0-9]{1,7}\.[0-9]{2}$"}
VALID_POSTBACK_FIELDS: dict[str, dict[str, Any]] = {
    "conversion_id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"},
    "conversion_currency": {"type": "string", "enum": ["MYR", "USD", "SGD", "idr", "THB"]},
    "datetime_conversion": {
        "type": "string",
        "pattern": r"^202[0-9]-0[1-9]-[01][1-9] [01][0-9]:[0-5][0-9]:[0-5][0-9]$",
    },
    "datetime_conversion_updated": {"type": "string", "pattern": r"^1[78][0-9]{8}$"},
    **{
        name: AMOUNT
        for name in (
            "myr_payout",
            "myr_sale_amount",
            "payout_local",
            "sale_amount_local",
            "usd_payout",
            "usd_sale_amount",
        )
    },
}


def storable_postbacks() -> dict[str, Any]:
    schema = copy.deepcopy(SCHEMA)
    for parameter in schema["paths"]["/postback/"]["get"]["parameters"]:
        if parameter["name"] in VALID_POSTBACK_FIELDS:
            parameter["schema"] = VALID_POSTBACK_FIELDS[parameter["name"]]
            parameter["required"] = parameter["name"] == "conversion_id"
    return schema


STORED = "GET /postback/ (valid typed fields)"
CASES.append((STORED, GenerationMode.POSITIVE))


def fuzz(label: str, mode: GenerationMode, base_url: str) -> Counter[int]:
    """Every status answered, after checking that none is a server error."""
    schema = storable_postbacks() if label == STORED else SCHEMA
    operation = schemathesis.openapi.from_dict(schema).find_operation_by_label(
        label.removesuffix(" (valid typed fields)")
    )
    assert operation is not None, label
    session = requests.Session()
    statuses: Counter[int] = Counter()

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
        database=None,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def no_server_error(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, session=session, headers=HEADERS, timeout=30)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=[not_a_server_error])

    try:
        no_server_error()
    finally:
        session.close()
    return statuses


def test_every_operation_is_fuzzed():
    assert {"GET /postback/", "POST /postback/", "POST /api/tenants"} <= set(OPERATIONS)
    assert len(OPERATIONS) >= 12


async def test_the_running_app_serves_this_schema(client):
    assert (await client.get("/openapi.json")).json() == SCHEMA


@pytest.mark.parametrize(("label", "mode"), CASES)
async def test_no_server_error(live_server, db, label, mode):
    statuses = await asyncio.to_thread(fuzz, label, mode, live_server)
    if label == STORED:
        # Most of these are stored (some free-text values are refused, e.g. with a NUL).
        assert statuses[200] > sum(statuses.values()) // 2, statuses
