"""Typed settings: defaults < .env < environment < Streamlit secrets < explicit arguments."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent_app.logsetup import register_configured_secrets

Provider = Literal["auto", "dashscope", "ollama", "openai", "offline"]
REGION_BASES = {
    "cn": "https://dashscope.aliyuncs.com/compatible-mode/v1",
    "intl": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
}
DEFAULT_MODELS = {
    "dashscope": "qwen-plus",
    "ollama": "qwen3:0.6b",
    "openai": "gpt-4o-mini",
    "offline": "offline",
}


def _alias(*names: str) -> Any:
    return Field(default=None, validation_alias=AliasChoices(*names))


class Settings(BaseSettings):
    """All configuration of the app; secrets are SecretStr and never printed."""

    model_config = SettingsConfigDict(
        env_prefix="AGENT_APP_", env_file=".env", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Path("data")
    database_url: SecretStr | None = None
    """postgresql://… moves conversations, checkpoints, users, usage and memory to PostgreSQL
    (also `[database] url` in secrets); unset: SQLite files in the data directory."""
    backend: str = ""
    """langgraph://host:port (or an http(s) URL): turns run on that LangGraph Server instead of
    in this process; '' (the default): the in-process agent."""
    backend_api_key: SecretStr | None = None
    """Sent as `x-api-key` to the LangGraph Server (LangGraph Platform needs one)."""
    provider: Provider = "auto"
    model: str | None = None
    fallback_model: str | None = None
    """Fallback as 'provider:model' (or just a model name of the same provider)."""

    dashscope_api_key: SecretStr | None = _alias("AGENT_APP_DASHSCOPE_API_KEY", "DASHSCOPE_API_KEY")
    dashscope_region: Literal["cn", "intl"] = "cn"
    dashscope_api_base: str | None = _alias("AGENT_APP_DASHSCOPE_API_BASE", "DASHSCOPE_API_BASE")
    dashscope_http_base_url: str | None = _alias(
        "AGENT_APP_DASHSCOPE_HTTP_BASE_URL", "DASHSCOPE_HTTP_BASE_URL"
    )
    ollama_host: str = Field(
        default="http://127.0.0.1:11434",
        validation_alias=AliasChoices("AGENT_APP_OLLAMA_HOST", "OLLAMA_HOST"),
    )
    ollama_allow_remote: bool = False
    openai_base_url: str | None = _alias("AGENT_APP_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    openai_api_key: SecretStr | None = _alias("AGENT_APP_OPENAI_API_KEY", "OPENAI_API_KEY")

    kb_max_file_mb: float = 20.0
    """Largest accepted upload; keep .streamlit/config.toml server.maxUploadSize at or below it."""
    kb_allow_symlinks: bool = False
    """`kb add` of a symbolic link indexes its target; refused unless the operator allows it."""
    embedding_provider: Literal["auto", "offline", "local", "dashscope", "ollama", "openai"] = (
        "auto"
    )
    """'auto' (the default): DashScope text-embedding-v4 when a DashScope key is set, else 'local'
    (a multilingual model that runs here, docs/retrieval.md); 'offline' is hashed n-grams."""
    embedding_model: str | None = None
    rerank_model: str = ""
    """DashScope rerank model for knowledge-base hits (gte-rerank-v2, qwen3-rerank); '' is off."""

    search_backend: Literal["auto", "none", "dashscope", "searxng", "tavily"] = "auto"
    """The web_search tool's engine; 'auto': DashScope's built-in search when `enable_search` is on
    and a DashScope key is set, else Tavily with a key, else SearXNG with a URL, else none."""
    search_model: str = "qwen-plus"
    """The DashScope model that runs the built-in search (it must support search in the region)."""
    search_url: str = ""
    """A SearXNG instance (its JSON API must be enabled), e.g. http://searxng:8080."""
    tavily_api_key: SecretStr | None = _alias("AGENT_APP_TAVILY_API_KEY", "TAVILY_API_KEY")
    tavily_base_url: str = "https://api.tavily.com"
    search_timeout: float = 15.0

    enable_thinking: bool = False
    enable_search: bool = False
    """DashScope's built-in web search, as the web_search tool (so its sources are cited)."""
    temperature: float | None = None
    connect_timeout: float = 10.0
    request_timeout: float = 60.0
    max_retries: int = 2
    retry_base_delay: float = 0.5
    max_concurrent_model_calls: int = 8

    max_input_chars: int = 32_000
    context_tokens: int = 24_000
    condense_history: bool = True
    """When a conversation outgrows `context_tokens`, older turns are summarized (not dropped)."""
    recursion_limit: int = 24
    max_tool_calls: int = 12
    turn_deadline_s: float = 180.0
    tool_timeout_s: float = 60.0
    """Deadline of one tool call (a tool may declare `metadata={"timeout_s": …}`), capped by the turn's."""

    checkpoint_durability: Literal["sync", "async", "exit"] = "exit"
    """exit: one durable (fsync'd) checkpoint per turn; a hard kill mid-turn loses only that turn."""

    small_models: str = ":0.5b,:0.6b,:1b,:1.5b,:1.7b"
    """Model-name fragments that mark a model as small (few tools, JSON-call fallback)."""
    vision_model: str = ""
    """For turns with images when the conversation's model cannot see ('qwen-vl-max', 'ollama:…')."""
    max_image_mb: float = 10.0
    """Largest image accepted in a message."""
    asr_model: str = ""
    """Speech recognition for recorded messages on DashScope ('qwen3-asr-flash'); '' is off."""
    asr_url: str = ""
    """Or an OpenAI-compatible server's /v1 base: its /audio/transcriptions is used."""
    max_audio_mb: float = 10.0
    tts_model: str = ""
    """Read-aloud of answers with DashScope's speech synthesis ('qwen3-tts-flash'); '' is off."""
    tts_voice: str = "Cherry"
    """The Qwen-TTS voice that reads answers aloud."""
    ocr_model: str = ""
    """Reads scanned PDF pages and PNG/JPEG uploads into the knowledge base ('qwen-vl-ocr-latest')."""
    ocr_max_pages: int = 50
    """A document with more scanned pages than this is refused (each page is one model call)."""
    small_model_tools: int = 3
    plan: bool = False
    """Visible plan (todo list) for multi-step requests; also switchable per conversation."""

    lang: Literal["zh", "en"] = "zh"
    timezone: str = "Asia/Shanghai"
    tools_dirs: str = "tools"
    approval_mode: Literal["ask", "all", "none"] = "ask"
    memory_recall: bool = True
    memory_recall_k: int = 5
    memory_extract: bool = True
    """After each turn, extract durable facts about the user in the background."""
    trace_content: bool = False
    """With LangSmith tracing on, also send message and tool content (hidden by default)."""
    title_model: bool = True
    """After the first answer, the model writes the conversation's title (in the background)."""
    memory_min_score: float | None = None
    """Extra recall threshold on the fused score in [0, 1]; by default the store's calibrated floor."""
    log_level: str = "INFO"
    user: str = "local"
    """The single user of `none` mode (and the CLI's default --user)."""

    auth: Literal["none", "password", "oidc", "header"] = "none"
    """Sign-in mode; `none` is refused on a non-loopback address when a provider key is set."""
    allow_open: bool = False
    """Serve an open (no sign-in) instance on a public address anyway; the page says so."""
    auth_header: str = "X-Forwarded-User"
    trusted_proxies: str = "127.0.0.1/32,::1/128"
    """Addresses (CIDR, comma-separated) whose identity header `header` mode believes."""
    oidc_provider: str | None = None
    """Provider name of the [auth] secrets section when it lists several."""
    admins: str = ""
    """User ids that are admins in every mode (comma-separated), e.g. an OIDC subject."""
    session_hours: float = 12.0
    login_max_failures: int = 5
    login_max_failures_per_address: int = 20
    """Failed sign-ins from one client address (any names) before it is locked out too."""
    login_lockout_minutes: float = 15.0
    daily_token_budget: int | None = None
    """Tokens per user per day; None: unlimited without sign-in, 1,000,000 with it; 0: unlimited."""
    requests_per_minute: int | None = None
    """Turns per user per minute; None: unlimited without sign-in, 20 with it; 0: unlimited."""

    @field_validator("database_url", mode="after")
    @classmethod
    def _blank_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        # The scheme is checked where the URL is used: a validation error would print the value.
        return value if value is not None and value.get_secret_value().strip() else None

    @field_validator("data_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def resolved_provider(self) -> str:
        """'auto' means DashScope when a key is set, otherwise offline."""
        if self.provider != "auto":
            return self.provider
        return "dashscope" if self.dashscope_api_key else "offline"

    @property
    def recall_min_score(self) -> float:
        """An extra bar over the memory store's calibrated recall floor (0: the floor alone)."""
        return self.memory_min_score if self.memory_min_score is not None else 0.0

    @property
    def resolved_model(self) -> str:
        """The chat model: the configured one, else the provider's default."""
        return self.model or DEFAULT_MODELS[self.resolved_provider]

    @property
    def dashscope_base(self) -> str:
        """The DashScope compatible-mode URL: the explicit base, else the region's."""
        return self.dashscope_api_base or REGION_BASES[self.dashscope_region]

    def with_overrides(self, **values: Any) -> Settings:
        """A copy with some fields replaced (validated)."""
        data = self.model_dump()
        data.update({k: v for k, v in values.items() if v is not None})
        return Settings.model_validate(data)


def load_settings(overrides: dict[str, Any] | None = None, **explicit: Any) -> Settings:
    """Build settings from env/.env, then apply secrets-style overrides and explicit values."""
    overrides = overrides or {}
    # Sections (Streamlit's [auth] table among them, an AttrDict, not a dict) are not settings.
    merged = {k.lower(): v for k, v in overrides.items() if not isinstance(v, Mapping)}
    section = overrides.get("database")
    if isinstance(section, Mapping) and section.get("url"):
        merged.setdefault("database_url", section["url"])  # the [database] section of secrets
    merged.update({k: v for k, v in explicit.items() if v is not None})
    settings = Settings(**merged)
    register_configured_secrets(settings)  # masked in every log line from now on
    return settings


def mask(secret: SecretStr | str | None) -> str:
    """'sk-…abcd' style masking for display; never the whole value."""
    if secret is None:
        return "(not set)"
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not raw:
        return "(not set)"
    return f"{raw[:3]}…{raw[-4:]}" if len(raw) > 12 else "****"
