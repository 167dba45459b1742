"""The OpenAPI 3.1 document served at ``/openapi.json``. Kept beside the routes it describes;
``tests/server/test_openapi.py`` checks that every REST route of the app appears here."""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document"]

_PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(s): {
            "description": "problem",
            "content": {"application/problem+json": {"schema": _PROBLEM}},
        }
        for s in statuses
    }


def _json(schema: dict[str, Any], description: str = "ok") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_ROOM_ID = {"name": "room_id", "in": "path", "required": True, "schema": {"type": "string"}}
_ORDER_ID = {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}
_MERCHANT_ID = {"name": "merchant_id", "in": "path", "required": True, "schema": {"type": "string"}}


def openapi_document(server_url: str) -> dict[str, Any]:
    obj = {"type": "object"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "coshop",
            "version": "1",
            "description": "Rooms, invites and the catalogue. Real-time traffic runs over the "
            "WebSocket /ws/rooms/{room_id}; see docs/protocol.md.",
        },
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "merchant API key"},
                "memberToken": {"type": "http", "scheme": "bearer", "description": "member token"},
                "adminToken": {"type": "http", "scheme": "bearer", "description": "operator"},
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "code", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "code": {"type": "string"},
                        "detail": {"type": "string"},
                    },
                },
                "Invite": {
                    "type": "object",
                    "properties": {
                        "invite_id": {"type": "string"},
                        "role": {"type": "string"},
                        "expires_at": {"type": ["integer", "null"]},
                        "max_uses": {"type": ["integer", "null"]},
                        "token": {"type": "string"},
                        "url": {"type": "string"},
                    },
                },
            },
        },
        "paths": {
            "/api/v1/rooms": {
                "post": {
                    "summary": "Create a room",
                    "security": [{"apiKey": []}, {}],
                    "requestBody": _body(
                        {
                            "kind": {"enum": ["group", "live"]},
                            "title": {"type": "string", "maxLength": 200},
                            "host_name": {"type": "string", "maxLength": 200},
                        }
                    ),
                    "responses": {
                        "201": _json(obj, "the room, the host's member token and an invite"),
                        **_errors(401, 413, 415, 422),
                    },
                }
            },
            "/api/v1/rooms/{room_id}": {
                "get": {
                    "summary": "Room snapshot as the caller sees it",
                    "parameters": [_ROOM_ID],
                    "security": [{"memberToken": []}, {"apiKey": []}],
                    "responses": {"200": _json(obj), **_errors(401, 404, 503)},
                }
            },
            "/api/v1/rooms/{room_id}/invites": {
                "post": {
                    "summary": "Mint an invite (never for the host role)",
                    "parameters": [_ROOM_ID],
                    "security": [{"memberToken": []}, {"apiKey": []}],
                    "requestBody": _body(
                        {
                            "role": {"type": "string"},
                            "expires_in": {"type": "integer", "minimum": 60},
                            "max_uses": {"type": "integer", "minimum": 1},
                        }
                    ),
                    "responses": {
                        "201": _json({"$ref": "#/components/schemas/Invite"}),
                        **_errors(403, 404, 422),
                    },
                }
            },
            "/api/v1/rooms/{room_id}/invites/{invite_id}": {
                "delete": {
                    "summary": "Revoke an invite",
                    "parameters": [
                        _ROOM_ID,
                        {
                            "name": "invite_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {"200": _json(obj), **_errors(403, 404)},
                }
            },
            "/api/v1/rooms/{room_id}/join": {
                "post": {
                    "summary": "Join with an invite token and a display name",
                    "parameters": [_ROOM_ID],
                    "requestBody": _body(
                        {"invite": {"type": "string"}, "name": {"type": "string"}},
                        ["invite", "name"],
                    ),
                    "responses": {
                        "201": _json(obj, "a member token for the WebSocket hello"),
                        **_errors(401, 404, 410, 422),
                    },
                }
            },
            "/api/v1/merchants/{merchant_id}/products": {
                "get": {
                    "summary": "List or search products",
                    "parameters": [
                        _MERCHANT_ID,
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                        {"name": "offset", "in": "query", "schema": {"type": "integer"}},
                    ],
                    "responses": {"200": _json(obj), **_errors(400, 404)},
                }
            },
            "/api/v1/merchants/{merchant_id}/products/{sku}": {
                "get": {
                    "summary": "One product",
                    "parameters": [
                        _MERCHANT_ID,
                        {
                            "name": "sku",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {"200": _json(obj), **_errors(404)},
                }
            },
            "/api/v1/merchants": {
                "post": {
                    "summary": "Register a merchant (operator's admin token); the API key once",
                    "security": [{"adminToken": []}],
                    "requestBody": _body(
                        {
                            "merchant_id": {
                                "type": "string",
                                "pattern": "^[a-z0-9][a-z0-9_-]{1,62}$",
                            },
                            "name": {"type": "string"},
                            "origins": {"type": "array", "items": {"type": "string"}},
                        },
                        ["merchant_id"],
                    ),
                    "responses": {"201": _json(obj), **_errors(401, 404, 409, 422)},
                }
            },
            "/api/v1/merchant": {
                "get": {
                    "summary": "The calling merchant",
                    "security": [{"apiKey": []}],
                    "responses": {"200": _json(obj), **_errors(401)},
                }
            },
            "/api/v1/merchant/origins": {
                "put": {
                    "summary": "Replace the origins allowed to embed rooms",
                    "security": [{"apiKey": []}],
                    "requestBody": _body(
                        {"origins": {"type": "array", "items": {"type": "string"}}}, ["origins"]
                    ),
                    "responses": {"200": _json(obj), **_errors(401, 422)},
                }
            },
            "/api/v1/merchant/api-key": {
                "post": {
                    "summary": "Rotate the API key (the old one stops working)",
                    "security": [{"apiKey": []}],
                    "responses": {"200": _json(obj), **_errors(401)},
                }
            },
            "/api/v1/rooms/{room_id}/checkout": {
                "post": {
                    "summary": "Host: lock, price on the server and open an order",
                    "parameters": [_ROOM_ID],
                    "security": [{"memberToken": []}],
                    "requestBody": _body(
                        {
                            "mode": {"enum": ["host_pays", "own_lines", "equal_split"]},
                            "all_or_nothing": {"type": "boolean"},
                        }
                    ),
                    "responses": {
                        "200": _json(obj, "the order and the priced snapshot"),
                        **_errors(401, 403, 409, 503),
                    },
                },
                "get": {
                    "summary": "The latest snapshot and order of the room",
                    "parameters": [_ROOM_ID],
                    "security": [{"memberToken": []}],
                    "responses": {"200": _json(obj), **_errors(401, 404)},
                },
            },
            "/api/v1/rooms/{room_id}/checkout/{order_id}/pay": {
                "post": {
                    "summary": "The hosted payment page for the caller's share (same one twice)",
                    "parameters": [_ROOM_ID, _ORDER_ID],
                    "security": [{"memberToken": []}],
                    "responses": {"200": _json(obj, "{url}"), **_errors(401, 403, 404, 409, 503)},
                }
            },
            "/api/v1/rooms/{room_id}/checkout/{order_id}/cancel": {
                "post": {
                    "summary": "Host: cancel the order (the cart unlocks)",
                    "parameters": [_ROOM_ID, _ORDER_ID],
                    "security": [{"memberToken": []}],
                    "responses": {"200": _json(obj), **_errors(401, 403, 404, 409)},
                }
            },
            "/api/v1/rooms/{room_id}/checkout/handoff": {
                "post": {
                    "summary": "Host: a cart permalink to the merchant's own checkout",
                    "parameters": [_ROOM_ID],
                    "security": [{"memberToken": []}],
                    "responses": {"200": _json(obj, "{url}"), **_errors(401, 403, 409, 503)},
                }
            },
            "/webhooks/{provider}": {
                "post": {
                    "summary": "Payment provider webhooks (signed; verified over the raw body)",
                    "parameters": [
                        {
                            "name": "provider",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {"200": _json(obj), **_errors(400, 404, 503)},
                }
            },
            "/healthz": {"get": {"summary": "Health", "responses": {"200": _json(obj)}}},
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "text"}},
                }
            },
        },
    }
