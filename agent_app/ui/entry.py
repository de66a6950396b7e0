"""The script `agent-app ui` hands to `streamlit run`; it ships inside the package."""

from agent_app.ui.app import main

main()
