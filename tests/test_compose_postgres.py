"""compose.yaml: SQLite by default; with the postgres profile a pgvector PostgreSQL the app waits for."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from agent_app.settings import Settings
from agent_app.storage.pg import redact

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.unit
VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])(.*))?\}$", re.S)


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:+alternative}, ${VAR:?error}, nested."""
    out, i = [], 0
    while i < len(text):
        if not text.startswith("${", i):
            out.append(text[i])
            i += 1
            continue
        depth, j = 0, i
        while True:  # the brace that closes this one
            if text.startswith("${", j):
                depth, j = depth + 1, j + 2
                continue
            depth -= text[j] == "}"
            if depth == 0:
                break
            j += 1
        m = VAR.match(text[i : j + 1])
        assert m, text[i : j + 1]
        name, op, arg = m.group(1), m.group(2) or "", m.group(3) or ""
        value, present = env.get(name, ""), bool(env.get(name))
        if op == ":-":
            value = value if present else interpolate(arg, env)
        elif op == ":+":
            value = interpolate(arg, env) if present else ""
        elif op == ":?" and not present:
            raise ValueError(f"{name}: {arg}")
        out.append(value)
        i = j + 1
    return "".join(out)


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def app_url(env: dict[str, str]) -> str:
    return interpolate(compose()["services"]["app"]["environment"]["AGENT_APP_DATABASE_URL"], env)


def test_compose_stays_on_sqlite_unless_postgres_is_asked_for():
    services = compose()["services"]
    assert services["db"]["profiles"] == ["postgres"]  # `docker compose up` alone: no database
    assert "profiles" not in services["app"]
    dependency = services["app"]["depends_on"]["db"]
    assert dependency == {"condition": "service_healthy", "required": False}
    url = app_url({"DASHSCOPE_API_KEY": "sk-x"})
    assert url == "" and Settings(database_url=url, _env_file=None).database_url is None
    own = "postgresql://me:pw@pg.internal:5432/team"  # a server of the team's own
    assert app_url({"AGENT_APP_DATABASE_URL": own, "POSTGRES_PASSWORD": "x"}) == own


def test_the_postgres_profile_gives_the_app_the_db_service_without_a_password_in_the_file():
    doc = compose()
    db = doc["services"]["db"]
    assert db["image"].startswith("pgvector/pgvector:")
    env = db["environment"]
    parts = urlsplit(app_url({"POSTGRES_PASSWORD": "s3cretpw"}))
    assert parts.scheme == "postgresql" and parts.hostname == "db" and parts.port == 5432
    assert parts.username == env["POSTGRES_USER"] and parts.path == "/" + env["POSTGRES_DB"]
    assert parts.password == "s3cretpw"
    assert interpolate(env["POSTGRES_PASSWORD"], {"POSTGRES_PASSWORD": "s3cretpw"}) == "s3cretpw"
    for service in doc["services"].values():  # every secret is a variable, never a literal
        for key, value in service.get("environment", {}).items():
            if "PASSWORD" in key or "URL" in key or "KEY" in key:
                assert interpolate(str(value), {}) == "", (key, value)
    check = " ".join(db["healthcheck"]["test"])
    assert "pg_isready" in check and env["POSTGRES_USER"] in check and env["POSTGRES_DB"] in check
    volume, mount = db["volumes"][0].split(":")
    assert mount == "/var/lib/postgresql/data" and volume in doc["volumes"]
    assert "ports" not in db  # only the app reaches it
    resolved = app_url({"POSTGRES_PASSWORD": "s3cretpw"})
    settings = Settings(database_url=resolved, _env_file=None)
    assert "s3cretpw" not in redact(resolved) and "s3cretpw" not in repr(settings)


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
