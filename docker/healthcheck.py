"""Container health check: exit 0 when Streamlit's /_stcore/health answers ok (slim images have no curl)."""

from __future__ import annotations

import os
import sys
import urllib.request


def main() -> int:
    port = os.environ.get("AGENT_APP_PORT", "8501")
    base = os.environ.get("STREAMLIT_SERVER_BASE_URL_PATH", "").strip("/")
    url = f"http://127.0.0.1:{port}/{base + '/' if base else ''}_stcore/health"
    try:
        with urllib.request.urlopen(url, timeout=4) as resp:  # noqa: S310 - fixed loopback URL
            return 0 if resp.status == 200 and resp.read(16).strip() == b"ok" else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
