"""Long-running work outside a request's transaction (each commits its own batches)."""
