# agent-app image: slim Python, non-root, data on the /data volume, tools/ mounted read-only.
# No secret is baked in: pass DASHSCOPE_API_KEY & co. at run time (compose.yaml, `docker run -e`).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LANGGRAPH_STRICT_MSGPACK=true \
    AGENT_APP_DATA_DIR=/data \
    AGENT_APP_TOOLS_DIRS=/app/tools \
    AGENT_APP_ADDRESS=0.0.0.0 \
    AGENT_APP_PORT=8501 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false

WORKDIR /app

# Dependencies first (pinned by constraints.txt) so code edits do not reinstall them.
COPY pyproject.toml constraints.txt README.md ./
COPY agent_app/__init__.py agent_app/__init__.py
RUN pip install -c constraints.txt . && pip uninstall -y agent-app

# The app itself: a regular install (prompts, locales and the UI entry ship as package data).
COPY agent_app agent_app
COPY .streamlit/config.toml .streamlit/config.toml
COPY docker/entrypoint.sh docker/healthcheck.py docker/
RUN pip install --no-deps -c constraints.txt . \
    && rm -rf agent_app build \
    && groupadd --system --gid 10001 agent \
    && useradd --system --uid 10001 --gid agent --home-dir /app --shell /usr/sbin/nologin agent \
    && mkdir -p /data /app/tools \
    && chown agent:agent /data \
    && chmod 0755 docker/entrypoint.sh

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["ui"]
