"""The vendored LangGraph store suites run in the full suite, not in make test-fast."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "store_contract" in str(item.path):
            item.add_marker(pytest.mark.slow)
