"""The REST API (JSON; errors are ``application/problem+json``; OpenAPI at ``/openapi.json``)."""
