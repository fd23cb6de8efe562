"""The REST API v1 for the call center: views, URLs, serializers, filters,
problem details, idempotency keys, throttling, the JSON parser and the schema."""
