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


# LangGraph's PostgresStore (our PostgreSQL memory store) differs from the SQLite store's contract
# here: filters on dotted paths / mixed types / hostile keys, and per-put index paths. Strict, so a
# fix (our own filter layer over it) turns them into failures to un-mark.
POSTGRES_DIFFERS = {
    "test_async_batched_vector_search_concurrent": "filter comparisons on numbers (PostgresStore)",
    "test_embed_with_path": "per-put index paths score differently (PostgresStore)",
    "test_sql_injection_vulnerability": "filter keys are refused differently (PostgresStore)",
    "test_sql_injection_filter_values": "filter values compared as JSON text (PostgresStore)",
    "test_numeric_filter_safety": "numeric filters on mixed types (PostgresStore)",
    "test_filter_keys_with_hyphens_and_digits": "dotted filter paths (PostgresStore)",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "store_contract" not in str(item.path):
            continue
        item.add_marker(pytest.mark.slow)
        name = getattr(item, "originalname", item.name)
        if name in POSTGRES_DIFFERS and "postgres" in item.name:
            item.add_marker(pytest.mark.xfail(strict=True, reason=POSTGRES_DIFFERS[name]))
