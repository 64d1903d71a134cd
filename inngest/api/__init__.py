"""The HTTP surface: Inngest-compatible SDK endpoints, the REST API, health and docs."""
