"""compose.postgres.yaml: a pgvector PostgreSQL the app waits for, its URL built from one secret."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent_app.settings import Settings
from agent_app.storage.pg import redact

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.unit


def test_the_override_adds_a_database_the_app_uses_without_a_password_in_the_file():
    base = yaml.safe_load((ROOT / "compose.yaml").read_text())
    extra = yaml.safe_load((ROOT / "compose.postgres.yaml").read_text())
    assert set(extra["services"]) == {"db", "app"} and "app" in base["services"]
    db, app = extra["services"]["db"], extra["services"]["app"]
    assert "pgvector" in db["image"] and db["healthcheck"]
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    url = app["environment"]["AGENT_APP_DATABASE_URL"]
    assert "${POSTGRES_PASSWORD:?" in url and db["environment"]["POSTGRES_PASSWORD"].startswith(
        "${"
    )
    resolved = url.replace("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}", "s3cret-pw")
    settings = Settings(database_url=resolved, _env_file=None)
    assert settings.database_url is not None and "@db:5432/agent_app" in resolved
    assert "s3cret-pw" not in redact(resolved) and "s3cret-pw" not in repr(settings)


def test_the_database_url_comes_from_the_secrets_section_and_a_wrong_scheme_is_one_clear_error(
    tmp_path,
):
    from agent_app.errors import StorageError
    from agent_app.settings import load_settings
    from agent_app.wiring import open_service

    url = "postgresql://agent:pw-from-secrets@127.0.0.1:9/agent_app"
    assert load_settings({"database": {"url": url}}).database_url.get_secret_value() == url
    wrong = Settings(data_dir=tmp_path, database_url="mysql://u:TOPSECRET@h/db", _env_file=None)
    with pytest.raises(StorageError) as info:
        open_service(wrong, tools=[])
    message = info.value.user_message("en")
    assert "postgresql://" in message and "TOPSECRET" not in message + str(info.value)
