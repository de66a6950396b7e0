"""Test plugins for the tools platform: an entry-point package, an MCP server, network fakes."""
