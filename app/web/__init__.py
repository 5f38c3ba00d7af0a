"""Cross-cutting web concerns: request context, headers, errors, the session cookie."""
