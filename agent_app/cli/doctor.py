"""`agent-app doctor`: configuration, provider reachability, data directory, versions — keys masked."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
from importlib import metadata
from typing import Any

from agent_app.cli.common import settings_from
from agent_app.errors import AppError
from agent_app.knowledge.embedders import embedding_provider
from agent_app.settings import Settings, mask

PACKAGES = (
    "langchain",
    "langchain-core",
    "langgraph",
    "langgraph-checkpoint",
    "langgraph-checkpoint-sqlite",
    "langchain-qwq",
    "langchain-ollama",
    "langchain-openai",
    "faiss-cpu",
    "streamlit",
    "dashscope",
    "httpx",
    "pypdf",
    "python-docx",
)


def register(sub: Any) -> None:
    """Add the `doctor` command and its options."""
    p = sub.add_parser("doctor", help="check configuration, providers, data directory and versions")
    p.add_argument("--json", action="store_true")
    p.add_argument("--offline", action="store_true", help="do not contact any provider")
    p.set_defaults(func=run)


def _provider_check(settings: Settings) -> tuple[str, str]:
    provider = settings.resolved_provider
    if provider == "offline":
        return (
            "warn",
            "no model configured (offline mode): set DASHSCOPE_API_KEY or AGENT_APP_PROVIDER=ollama",
        )
    if provider == "ollama":
        from agent_app.providers.ollama_check import capabilities, check_server

        try:
            version = check_server(settings.ollama_host, allow_remote=settings.ollama_allow_remote)
            caps = capabilities(settings.ollama_host, settings.resolved_model)
        except AppError as err:
            return "fail", err.user_message("en")
        return (
            "ok",
            f"Ollama {version} at {settings.ollama_host}; {settings.resolved_model}: {', '.join(sorted(caps)) or '?'}",
        )
    return _http_check(settings, provider)


def _http_check(settings: Settings, provider: str) -> tuple[str, str]:
    import httpx

    base = settings.dashscope_base if provider == "dashscope" else (settings.openai_base_url or "")
    secret = settings.dashscope_api_key if provider == "dashscope" else settings.openai_api_key
    headers = {"Authorization": f"Bearer {secret.get_secret_value()}"} if secret else {}
    try:
        resp = httpx.get(f"{base.rstrip('/')}/models", headers=headers, timeout=8, trust_env=False)
    except httpx.HTTPError as exc:
        return "fail", f"{provider} unreachable at {base} ({type(exc).__name__})"
    if resp.status_code in (401, 403):
        return "fail", f"{provider} rejected the key {mask(secret)}"
    return (
        "ok" if resp.status_code < 500 else "warn"
    ), f"{provider} reachable at {base} (HTTP {resp.status_code})"


def _data_dir_check(settings: Settings) -> tuple[str, str]:
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".doctor-probe"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except OSError as exc:
        return "fail", f"data directory {path} is not writable ({exc.strerror})"
    return "ok", f"data directory {path.resolve()} is writable"


def collect(settings: Settings, offline: bool = False) -> dict[str, Any]:
    """The doctor report: configuration (keys masked), checks and versions."""
    checks: dict[str, tuple[str, str]] = {
        "data_dir": _data_dir_check(settings),
        "provider": ("skip", "not checked (--offline)") if offline else _provider_check(settings),
    }
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return {
        "config": {
            "provider": settings.resolved_provider,
            "model": settings.resolved_model,
            "fallback_model": settings.fallback_model,
            "dashscope_region": settings.dashscope_region,
            "dashscope_api_key": mask(settings.dashscope_api_key),
            "openai_api_key": mask(settings.openai_api_key),
            "ollama_host": settings.ollama_host,
            "embedding_provider": settings.embedding_provider,
            "embedding_in_use": embedding_provider(settings),
            "data_dir": str(settings.data_dir),
            "strict_msgpack": os.environ.get("LANGGRAPH_STRICT_MSGPACK"),
        },
        "checks": {k: {"status": s, "detail": d} for k, (s, d) in checks.items()},
        "versions": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            **versions,
        },
    }


def run(args: argparse.Namespace) -> int:
    """Print the doctor report as text or JSON."""
    report = collect(settings_from(args), offline=args.offline)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print("configuration:")
        for key, value in report["config"].items():
            print(f"  {key:20} {value}")
        print("checks:")
        for key, check in report["checks"].items():
            print(f"  [{check['status']:4}] {key:10} {check['detail']}")
        print("versions:")
        print("  " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()))
    return 1 if any(c["status"] == "fail" for c in report["checks"].values()) else 0
