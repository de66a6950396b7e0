"""Streamlit entry point (what `make run` and Streamlit Community Cloud start)."""

from agent_app.ui.app import main

main()
