"""The domain: plain functions over the models. They take the tenant explicitly, know
nothing of the request, raise :mod:`app.services.errors`, and flush but never commit."""
