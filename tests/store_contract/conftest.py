"""The vendored LangGraph store suites: in the full suite (not make test-fast), on both backends."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, params=["sqlite", "postgres"])
def store_backend(request):
    """Every contract test once against SqliteFaissStore, once against the PostgreSQL store."""
    from tests.store_contract import shim

    shim.BACKEND["url"] = None
    if request.param == "postgres":
        shim.BACKEND["url"] = request.getfixturevalue("pg_url")
    yield request.param
    shim.BACKEND["url"] = None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "store_contract" in str(item.path):
            item.add_marker(pytest.mark.slow)
