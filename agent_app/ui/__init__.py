"""Streamlit front end: thin pages that render ChatService events."""
