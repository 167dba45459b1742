"""Outbound merchant webhooks (Standard Webhooks); see docs/webhooks.md."""
