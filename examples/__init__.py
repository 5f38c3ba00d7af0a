"""Example apps that use the Gatehouse SDKs (see examples/README.md)."""
