"""The `agent-app` command line; every command talks only to the service façade."""
