"""Browser tests: the real Streamlit app in Debian's Chromium, driven by Playwright."""
