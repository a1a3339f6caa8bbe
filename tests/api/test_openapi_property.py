"""Property-based test of the POS API against its own OpenAPI document (issue 16, defect 8): generated requests,
valid and invalid, never get a 5xx, and every answer matches what the document says (status, content type,
body). Bounded (a few examples per operation) so CI stays within its time."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application()).include(
    path_regex="^/api/pos/")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def pos_key(keys):
    return keys["SH01"]


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """Requests go to the WSGI handler directly: like Django's test client, keep it from closing the connection
    at each request (it would break the test's transaction)."""
    from django.core.signals import request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)


@schema.parametrize()
@hypothesis_settings(max_examples=40, deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))
def test_the_pos_api_answers_as_documented_and_never_fails(case, pos_key, member):
    case.call_and_validate(headers={"Authorization": f"Bearer {pos_key}"}, checks=CHECKS)
