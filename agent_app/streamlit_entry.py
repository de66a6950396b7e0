"""The script `agent-app ui` hands to `streamlit run` (ships in the package; no `pages/` directory beside it)."""

from agent_app.ui.app import main

main()
