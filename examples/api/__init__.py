"""A tiny resource server protected by Gatehouse access tokens."""
