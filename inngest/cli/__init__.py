"""The `inngest` command line: thin wrappers that build settings and call the server."""
