"""The REST API (``/api/v1/``): tokens, idempotency, sync cursors, ETags, errors."""
