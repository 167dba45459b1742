"""The OpenAPI 3.1 document served at ``/openapi.json``. Kept beside the routes it describes.

The document states the real bounds the routes enforce (lengths, patterns, ranges, required
fields) and, for every status a route answers, the response's schema; a problem response lists
the exact ``code`` values it may carry (an ``enum`` on ``code`` and the same list as
``x-problem-codes``). ``tests/server/test_api_rooms.py`` checks that every REST route appears
here; ``tests/server/test_openapi_fuzz.py`` runs schemathesis against it, so a bound, a status
or a code that the document gets wrong fails ``make test``.
"""

from __future__ import annotations

from typing import Any

from checkout_bridge.orders import HOLDOUT_CHOICES
from rooms.rules.membership import MAX_NAME, MAX_TITLE
from server.api.members import REMOVED_CODES
from server.api.merchants import SIGN_IN_URL
from server.api.shows import show_paths
from server.api.stores import store_paths
from server.http.ratelimit import route_group
from server.webhooks.events import EVENT_TYPES, RESERVED_TYPES

__all__ = ["openapi_document"]

_PROBLEM_REF = "#/components/schemas/Problem"

# Text a client sends: no control character (the server refuses them as ``invalid_text``), and
# for names and titles at least one character that is not white space (they are trimmed).
_NO_CONTROL = "^[^\x00-\x1f\x7f-\x9f]*$"
_LINE = "^[^\x00-\x1f\x7f-\x9f]*[^\\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
_ID_PATTERN = "^[A-Za-z0-9_-]{1,64}$"
# scheme://host[:port] with an optional "/", any case (the server lowercases), spaces around.
_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
_ORIGIN = {
    "type": "string",
    "maxLength": 255,
    "pattern": f"^ *[Hh][Tt][Tt][Pp][Ss]?://{_LABEL}(\\.{_LABEL})*(:[0-9]{{1,5}})?/? *$",
}

# Problems every body-reading route may answer before it looks at any field.
_BODY: dict[int, list[str]] = {
    400: ["invalid_json"],
    413: ["body_too_large"],
    415: ["unsupported_media_type"],
    422: ["invalid_text"],
}
_REMOVED = list(REMOVED_CODES)
_TOKEN_401 = ["token_invalid", "token_expired"]


def _merge(*tables: dict[int, list[str]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for table in tables:
        for status, codes in table.items():
            out[status] = sorted({*out.get(status, []), *codes})
    return out


def _problems(table: dict[int, list[str]]) -> dict[str, Any]:
    return {
        str(status): {
            "description": "problem: " + ", ".join(codes),
            "x-problem-codes": codes,
            "content": {
                "application/problem+json": {
                    "schema": {
                        "allOf": [
                            {"$ref": _PROBLEM_REF},
                            {
                                "properties": {
                                    "status": {"const": status},
                                    "code": {"enum": codes},
                                }
                            },
                        ]
                    }
                }
            },
        }
        for status, codes in sorted(table.items())
    }


def _json(schema: dict[str, Any], description: str = "ok") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


def _body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    # Unknown fields are ignored, so the schema leaves additional properties allowed.
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _join_body() -> dict[str, Any]:
    body = _body(
        {
            "invite": {"type": "string", "maxLength": 2048, "pattern": _NO_CONTROL},
            "name": {"type": "string", "maxLength": MAX_NAME, "pattern": _LINE},
            "customer_token": {
                "type": "string",
                "maxLength": 4096,
                "description": "a JWT the merchant's backend signed (docs/merchant-identity.md)",
            },
            "device": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]{32,128}$",
                "description": "this browser's random device secret (only its hash is kept)",
            },
        },
        ["invite"],
    )
    # a name, unless the customer token brings the one the shop signed
    body["content"]["application/json"]["schema"]["anyOf"] = [
        {"required": ["name"]},
        {"required": ["customer_token"]},
    ]
    return body


def _path(name: str, pattern: str = _ID_PATTERN) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": pattern},
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_STR = {"type": "string"}
_INT = {"type": "integer"}
_NULL_STR = {"type": ["string", "null"]}
_NULL_INT = {"type": ["integer", "null"]}
_ROOM_ID = _path("room_id")
_WORD_LIST = _object(
    {
        "merchant_id": _STR,
        "entries": {
            "type": "array",
            "items": _object({"word": _STR, "action": {"enum": ["block", "mask"]}}),
        },
        "updated_at": {**_NULL_INT, "description": "ms since the epoch; null: never set"},
    }
)
_ORDER_ID = _path("order_id")
_MERCHANT_PATTERN = "^[a-z0-9][a-z0-9_-]{1,62}$"
_MEMBER: list[dict[str, list[str]]] = [{"memberToken": []}]
_JOIN_POLICY = {
    "enum": ["anyone_with_link", "customers_only"],
    "description": "who may join: anyone with an invite, or the merchant's signed-in customers",
}
_CUSTOMER_401 = [
    "customer_token_bad_signature",
    "customer_token_expired",
    "customer_token_invalid",
    "customer_token_wrong_merchant",
]
_NOT_CONFIGURED = ["customer_identity_not_configured"]
_INVITE_KIND = {
    "enum": ["shared", "personal"],
    "description": "shared: a link many people use; personal: one named person, one use",
}
_INVITE_ID = _path("invite_id")
_MANAGERS: dict[int, list[str]] = {
    403: ["forbidden", *REMOVED_CODES],
    404: ["room_not_found"],
    422: ["invalid_text"],
    503: ["server_full"],
}

_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "code", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "code": {"type": "string"},
            "detail": {"type": "string"},
            "field": {"type": "string"},
        },
    },
    "Invite": _object(
        {
            "invite_id": _STR,
            "role": _STR,
            "expires_at": _NULL_INT,
            "max_uses": _NULL_INT,
            "token": _STR,
            "url": _STR,
            "kind": _INVITE_KIND,
            "name": {**_NULL_STR, "description": "the invitee of a personal invite"},
        },
        ["invite_id", "role", "expires_at", "max_uses", "token", "url"],
    ),
    "ListedInvite": _object(
        {
            "invite_id": _STR,
            "kind": _INVITE_KIND,
            "role": _STR,
            "name": {**_NULL_STR, "description": "the invitee of a personal invite"},
            "status": {
                "enum": ["active", "off", "replaced", "revoked", "expired", "used", "used_up"],
                "description": "off: a shared link the host switched off; used: a personal"
                " invite someone used; used_up: a shared link's last use is taken",
            },
            "uses": _INT,
            "max_uses": _NULL_INT,
            "expires_at": _NULL_INT,
            "created_at": _INT,
            "replaced_by": {**_NULL_STR, "description": "the link a rotation replaced it with"},
            "used_by": {
                "oneOf": [_object({"member_id": _STR, "name": _STR}), {"type": "null"}],
                "description": "who used a personal invite",
            },
            "token": {**_NULL_STR, "description": "the invite token, while the link works"},
            "url": {**_NULL_STR, "description": "the join link, while the link works"},
        }
    ),
    "HostSession": _object(
        {
            "room_id": _STR,
            "title": _STR,
            "member_id": _STR,
            "role": {"const": "host"},
            "name": _STR,
            "token": _STR,
            "ws_url": _STR,
        }
    ),
    "Room": _object(
        {
            "room_id": _STR,
            "kind": {"enum": ["group", "live"]},
            "title": _STR,
            "merchant_id": _STR,
            "join_policy": _JOIN_POLICY,
            "host": _object({"member_id": _STR, "token": _STR}),
            "invite": _ref("Invite"),
            "links": _object({"join": _STR, "ws": _STR}),
            "manage_url": {
                "type": "string",
                "description": "the host's manage link, shown once: it opens the room as host"
                " on any device (the secret is in the fragment; only its hash is kept)",
            },
        },
        ["room_id", "kind", "title", "merchant_id", "join_policy", "host", "invite", "links"],
    ),
    "Member": _object(
        {
            "room_id": _STR,
            "member_id": _STR,
            "role": _STR,
            "name": _STR,
            "identity": {
                "enum": ["customer", "guest"],
                "description": "a merchant-signed customer, or a guest (device or one-off)",
            },
            "returning": {
                "type": "boolean",
                "description": "this identity was this member of the room before",
            },
            "token": _STR,
            "ws_url": _STR,
        }
    ),
    "Snapshot": _object(
        {
            "room_id": _STR,
            "merchant_id": _STR,
            "join_policy": _JOIN_POLICY,
            "seq": _INT,
            "view": {"type": "object"},
        }
    ),
    "Merchant": _object(
        {
            "merchant_id": _STR,
            "name": _STR,
            "origins": {"type": "array", "items": _STR},
            "sign_in_url": _NULL_STR,
            "customer_tokens": _object(
                {"hs256": {"type": "boolean"}, "es256": {"type": "boolean"}}
            ),
        }
    ),
    "Order": {
        "type": "object",
        "required": ["order_id", "status", "total_minor", "shares"],
        "properties": {
            "order_id": _STR,
            "status": _STR,
            "total_minor": _INT,
            "paid_minor": _INT,
            "currency": _STR,
            "deadline_ms": {
                **_INT,
                "description": "when unpaid shares are voided, ms since the Unix epoch",
            },
            "shares": {
                "type": "array",
                "items": {"type": "object"},
                "description": "one per payer; a share's status is pending, checkout_open, "
                "authorized, paid, failed, expired, canceled, refunded, partially_refunded or "
                "released (holdout recovery moved it to others or dropped it: never charged)",
            },
        },
    },
    "Product": {
        "type": "object",
        "required": ["merchant_id", "sku", "title", "price_minor", "currency"],
        "properties": {
            "merchant_id": _STR,
            "sku": _STR,
            "title": _STR,
            "price_minor": _INT,
            "currency": _STR,
            "variants": {"type": "array", "items": {"type": "object"}},
        },
    },
}


def _personal_one_use(properties: dict[str, Any]) -> dict[str, Any]:
    """A body with these properties where a ``name`` (a personal invite) allows one use only."""
    body = _body(properties)
    schema = body["content"]["application/json"]["schema"]
    schema["if"] = {"required": ["name"]}
    schema["then"] = {"properties": {"max_uses": {"enum": [1, None]}}}
    return body


_SNAPSHOT_OR_NULL = {"type": ["object", "null"]}
_ORDER_OR_NULL = {"oneOf": [_ref("Order"), {"type": "null"}]}
_URL_ANSWER = {
    "type": "object",
    "required": ["url", "navigation"],
    "properties": {"url": _STR, "navigation": {"const": "top-level"}},
}
_CHECKOUT_409 = [
    "cart_empty",
    "cart_not_locked",
    "checkout_already_open",
    "checkout_in_progress",
    "deadline_passed",
    "duplicate_line",
    "empty_cart",
    "invalid_order",
    "invalid_quantity",
    "mixed_currency",
    "no_payers",
    "nothing_to_pay",
    "order_closed",
    "payment_processing",
    "prices_changed",
    "provider_rejected",
    "share_not_open",
    "share_not_retryable",
    "share_settled",
    "snapshot_blocked",
    "snapshot_invalid",
    "snapshot_not_ready",
    "unknown_currency",
    "bad_phase",
    "cart_locked",
    "forbidden",
]
_CHECKOUT_BASE: dict[int, list[str]] = {
    401: _TOKEN_401,
    403: _REMOVED,
    404: ["room_not_found"],
    422: ["invalid_text"],
    503: ["payments_unconfigured", "server_full"],
}


def _paths() -> dict[str, Any]:
    return {
        "/api/v1/rooms": {
            "post": {
                "summary": "Create a room",
                "security": [{"apiKey": []}, {}],
                "requestBody": _body(
                    {
                        "kind": {"enum": ["group", "live"]},
                        "title": {"type": "string", "maxLength": MAX_TITLE, "pattern": _LINE},
                        "host_name": {"type": "string", "maxLength": MAX_NAME, "pattern": _LINE},
                        "join_policy": _JOIN_POLICY,
                    }
                ),
                "responses": {
                    "201": _json(_ref("Room"), "the room, the host's member token and an invite"),
                    **_problems(
                        _merge(
                            _BODY,
                            {
                                401: ["invalid_api_key", "api_key_required"],
                                404: ["merchant_unknown"],
                                409: _NOT_CONFIGURED,
                                422: ["invalid_field"],
                            },
                        )
                    ),
                },
            }
        },
        "/api/v1/rooms/{room_id}": {
            "get": {
                "summary": "Room snapshot as the caller sees it",
                "parameters": [_ROOM_ID],
                "security": [{"memberToken": []}, {"apiKey": []}],
                "responses": {
                    "200": _json(_ref("Snapshot")),
                    **_problems(
                        {
                            401: ["unauthorized"],
                            403: _REMOVED,
                            404: ["room_not_found"],
                            422: ["invalid_text"],
                            503: ["server_full"],
                        }
                    ),
                },
            }
        },
        "/api/v1/rooms/{room_id}/invites": {
            "get": {
                "summary": "Host, cohost or merchant: every invite of the room, newest first",
                "description": "`shared` names the room's current shared link. A usable invite"
                " (active or off) carries its link again; a personal one says who used it.",
                "parameters": [_ROOM_ID],
                "security": [{"memberToken": []}, {"apiKey": []}],
                "responses": {
                    "200": _json(
                        _object(
                            {
                                "room_id": _STR,
                                "shared": _NULL_STR,
                                "invites": {"type": "array", "items": _ref("ListedInvite")},
                            }
                        )
                    ),
                    **_problems(_MANAGERS),
                },
            },
            "post": {
                "summary": "Mint an invite (never for the host role)",
                "description": "With `name`, a personal invite: one use, the name prefilled"
                " on the join page, and the invite list says who used it.",
                "parameters": [_ROOM_ID],
                "security": [{"memberToken": []}, {"apiKey": []}],
                "requestBody": _personal_one_use(
                    {
                        "role": {
                            "enum": ["cohost", "moderator", "associate", "member", "viewer"],
                            "description": "the roles a room of its kind lets join",
                        },
                        "expires_in": {"type": "integer", "minimum": 60, "maximum": 90 * 86_400},
                        "max_uses": {"type": ["integer", "null"], "minimum": 1, "maximum": 100_000},
                        "name": {
                            "type": "string",
                            "maxLength": MAX_NAME,
                            "pattern": _LINE,
                            "description": "the invitee's name: a personal invite (one use)",
                        },
                    }
                ),
                "responses": {
                    "201": _json(_ref("Invite")),
                    **_problems(
                        _merge(
                            _BODY,
                            {
                                403: ["forbidden", *_REMOVED],
                                404: ["room_not_found"],
                                422: ["invalid_field", "invalid_role"],
                                503: ["server_full"],
                            },
                        )
                    ),
                },
            },
        },
        "/api/v1/rooms/{room_id}/invites/{invite_id}": {
            "patch": {
                "summary": "Host, cohost or merchant: switch a shared link off or on again",
                "description": "Joins through a link that is off are refused with"
                " `410 invite_disabled`; members already in stay.",
                "parameters": [_ROOM_ID, _INVITE_ID],
                "security": [{"memberToken": []}, {"apiKey": []}],
                "requestBody": _body({"enabled": {"type": "boolean"}}, ["enabled"]),
                "responses": {
                    "200": _json(_ref("ListedInvite")),
                    **_problems(
                        _merge(
                            _BODY,
                            _MANAGERS,
                            {
                                404: ["invite_unknown"],
                                409: ["invite_not_shared", "invite_revoked"],
                                422: ["invalid_field"],
                            },
                        )
                    ),
                },
            },
            "delete": {
                "summary": "Revoke an invite",
                "parameters": [_ROOM_ID, _path("invite_id")],
                "security": [{"memberToken": []}, {"apiKey": []}],
                "responses": {
                    "200": _json(_object({"invite_id": _STR, "revoked": {"const": True}})),
                    **_problems(
                        {
                            403: ["forbidden", *_REMOVED],
                            404: ["room_not_found", "invite_unknown"],
                            409: ["invite_unknown"],
                            422: ["invalid_text"],
                            503: ["server_full"],
                        }
                    ),
                },
            },
        },
        "/api/v1/rooms/{room_id}/invites/{invite_id}/rotate": {
            "post": {
                "summary": "Host, cohost or merchant: replace a shared link by a new one",
                "description": "The old link is refused from then on with"
                " `410 invite_replaced`; members already in stay.",
                "parameters": [_ROOM_ID, _INVITE_ID],
                "security": [{"memberToken": []}, {"apiKey": []}],
                "responses": {
                    "201": _json(
                        {
                            "allOf": [
                                _ref("ListedInvite"),
                                {"required": ["replaces"], "properties": {"replaces": _STR}},
                            ]
                        },
                        "the new link",
                    ),
                    **_problems(
                        _merge(
                            _MANAGERS,
                            {
                                404: ["invite_unknown"],
                                409: ["invite_not_shared", "invite_revoked"],
                            },
                        )
                    ),
                },
            }
        },
        "/api/v1/rooms/{room_id}/manage": {
            "post": {
                "summary": "Open the room as its host with the manage link's secret",
                "description": "The browser that opens the manage link becomes the room's host"
                " (the same host member; the host's other devices keep working). `key` is the"
                " secret in the manage link's fragment (`#key=…`); `device` binds this browser"
                " to the host, as a join does. Any key but the current one is refused.",
                "parameters": [_ROOM_ID],
                "requestBody": _body(
                    {
                        "key": {"type": "string", "pattern": "^[A-Za-z0-9_-]{32,128}$"},
                        "device": {
                            "type": "string",
                            "pattern": "^[A-Za-z0-9_-]{32,128}$",
                            "description": "this browser's random device secret",
                        },
                    },
                    ["key"],
                ),
                "responses": {
                    "200": _json(_ref("HostSession"), "a host member token for the hello"),
                    **_problems(
                        _merge(
                            _BODY,
                            {
                                403: ["manage_link_invalid"],
                                404: ["room_not_found"],
                                422: ["invalid_device", "invalid_field"],
                                503: ["server_full"],
                            },
                        )
                    ),
                },
            }
        },
        "/api/v1/rooms/{room_id}/manage-link": {
            "post": {
                "summary": "Host or merchant: a new manage link (the old one stops working)",
                "parameters": [_ROOM_ID],
                "security": [{"memberToken": []}, {"apiKey": []}],
                "responses": {
                    "200": _json(_object({"room_id": _STR, "manage_url": _STR})),
                    **_problems(_MANAGERS),
                },
            }
        },
        "/api/v1/rooms/{room_id}/join": {
            "post": {
                "summary": "Join with an invite token, as a signed-in customer or a guest",
                "description": (
                    "A refused join (any 4xx) uses none of the invite's uses. `customer_token`"
                    " is a JWT the merchant's backend signed (docs/merchant-identity.md);"
                    " `device` is a random secret the browser keeps, so a guest is the same"
                    " member on every join (only its hash is stored). An identity banned from"
                    " the room is refused through every invite (`banned`); a room for"
                    " signed-in customers only answers anything else with `sign_in_required`"
                    " and the shop's `sign_in_url`. `name` may be left out when the customer"
                    " token carries one."
                ),
                "parameters": [_ROOM_ID],
                "requestBody": _join_body(),
                "responses": {
                    "201": _json(_ref("Member"), "a member token for the WebSocket hello"),
                    **_problems(
                        _merge(
                            _BODY,
                            {
                                401: [*_TOKEN_401, *_CUSTOMER_401],
                                403: ["banned", "kicked", "sign_in_required"],
                                404: ["room_not_found"],
                                409: _NOT_CONFIGURED,
                                410: [
                                    "invite_disabled",
                                    "invite_exhausted",
                                    "invite_expired",
                                    "invite_replaced",
                                    "invite_revoked",
                                    "invite_unknown",
                                    "invite_used",
                                ],
                                422: ["invalid_device", "invalid_field"],
                                503: ["server_full"],
                            },
                        )
                    ),
                },
            }
        },
        "/api/v1/rooms/{room_id}/join-policy": {
            "put": {
                "summary": "Host, cohost or merchant: change who may join the room",
                "description": "Members already in stay; the host removes whom they want.",
                "parameters": [_ROOM_ID],
                "security": [{"memberToken": []}, {"apiKey": []}],
                "requestBody": _body({"join_policy": _JOIN_POLICY}, ["join_policy"]),
                "responses": {
                    "200": _json(_object({"room_id": _STR, "join_policy": _JOIN_POLICY})),
                    **_problems(
                        _merge(
                            _BODY,
                            {
                                403: ["forbidden", *_REMOVED],
                                404: ["room_not_found"],
                                409: _NOT_CONFIGURED,
                                422: ["invalid_field"],
                                503: ["server_full"],
                            },
                        )
                    ),
                },
            }
        },
        "/api/v1/merchants/{merchant_id}/products": {
            "get": {
                "summary": "List or search products (an unknown merchant has none)",
                "parameters": [
                    {
                        "name": "merchant_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[^/\x00-\x1f\x7f-\x9f]+$"},
                    },
                    {
                        "name": "q",
                        "in": "query",
                        "schema": {"type": "string", "maxLength": 200, "pattern": _NO_CONTROL},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                    },
                    {
                        "name": "offset",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                    },
                ],
                "responses": {
                    "200": _json(
                        _object(
                            {
                                "merchant_id": _STR,
                                "query": _NULL_STR,
                                "limit": _INT,
                                "offset": _INT,
                                "total": _INT,
                                "items": {"type": "array", "items": _ref("Product")},
                            }
                        )
                    ),
                    **_problems({400: ["invalid_parameter"], 422: ["invalid_text"]}),
                },
            }
        },
        "/api/v1/merchants/{merchant_id}/products/{sku}": {
            "get": {
                "summary": "One product",
                "parameters": [
                    _path("merchant_id", _MERCHANT_PATTERN),
                    _path("sku", "^[A-Za-z0-9._:-]{1,64}$"),
                ],
                "responses": {
                    "200": _json(_ref("Product")),
                    **_problems({404: ["product_not_found"], 422: ["invalid_text"]}),
                },
            }
        },
        "/api/v1/merchants": {
            "post": {
                "summary": "Register a merchant (operator's admin token); the API key once",
                "description": "Without an admin token configured the route answers 404.",
                "security": [{"adminToken": []}],
                "requestBody": _body(
                    {
                        "merchant_id": {"type": "string", "pattern": _MERCHANT_PATTERN},
                        "name": {"type": "string", "maxLength": 120, "pattern": _NO_CONTROL},
                        "origins": {
                            "type": "array",
                            "maxItems": 20,
                            "items": _ORIGIN,
                        },
                    },
                    ["merchant_id", "name"],
                ),
                "responses": {
                    "201": _json(
                        {
                            "allOf": [
                                _ref("Merchant"),
                                {"required": ["api_key"], "properties": {"api_key": _STR}},
                            ]
                        }
                    ),
                    **_problems(
                        _merge(
                            _BODY,
                            {
                                401: ["invalid_admin_token"],
                                404: ["not_found"],
                                409: ["merchant_exists"],
                                422: ["invalid_field", "invalid_origin"],
                            },
                        )
                    ),
                },
            }
        },
        "/api/v1/merchant": {
            "get": {
                "summary": "The calling merchant",
                "security": [{"apiKey": []}],
                "responses": {
                    "200": _json(_ref("Merchant")),
                    **_problems({401: ["invalid_api_key"]}),
                },
            }
        },
        "/api/v1/merchant/origins": {
            "put": {
                "summary": "Replace the origins allowed to embed rooms",
                "security": [{"apiKey": []}],
                "requestBody": _body(
                    {
                        "origins": {
                            "type": "array",
                            "maxItems": 20,
                            "items": _ORIGIN,
                        }
                    },
                    ["origins"],
                ),
                "responses": {
                    "200": _json(_ref("Merchant")),
                    **_problems(
                        _merge(
                            _BODY,
                            {401: ["invalid_api_key"], 422: ["invalid_field", "invalid_origin"]},
                        )
                    ),
                },
            }
        },
        "/api/v1/merchant/api-key": {
            "post": {
                "summary": "Rotate the API key (the old one stops working)",
                "security": [{"apiKey": []}],
                "responses": {
                    "200": _json(_object({"merchant_id": _STR, "api_key": _STR})),
                    **_problems({401: ["invalid_api_key"]}),
                },
            }
        },
        "/api/v1/merchant/signing-secret": {
            "post": {
                "summary": "Draw a new HS256 signing secret for customer tokens (shown once)",
                "description": "The previous secret keeps verifying for an hour.",
                "security": [{"apiKey": []}],
                "responses": {
                    "200": _json(
                        _object(
                            {
                                "merchant_id": _STR,
                                "signing_secret": _STR,
                                "algorithm": {"const": "HS256"},
                                "previous_valid_until": _NULL_INT,
                            }
                        )
                    ),
                    **_problems({401: ["invalid_api_key"]}),
                },
            },
            "delete": {
                "summary": "Stop accepting HS256 customer tokens at once",
                "security": [{"apiKey": []}],
                "responses": {
                    "200": _json(_ref("Merchant")),
                    **_problems({401: ["invalid_api_key"]}),
                },
            },
        },
        "/api/v1/merchant/public-key": {
            "put": {
                "summary": "Register the ES256 (P-256) public key for customer tokens",
                "security": [{"apiKey": []}],
                "requestBody": _body(
                    {
                        "public_key": {
                            "type": "string",
                            "maxLength": 4096,
                            "description": "a PEM public key or an EC JWK as JSON text",
                        }
                    },
                    ["public_key"],
                ),
                "responses": {
                    "200": _json(_ref("Merchant")),
                    **_problems(
                        _merge(_BODY, {401: ["invalid_api_key"], 422: ["invalid_public_key"]})
                    ),
                },
            },
            "delete": {
                "summary": "Remove the ES256 public key",
                "security": [{"apiKey": []}],
                "responses": {
                    "200": _json(_ref("Merchant")),
                    **_problems({401: ["invalid_api_key"]}),
                },
            },
        },
        "/api/v1/merchant/sign-in-url": {
            "put": {
                "summary": "Where shoppers sign in to the shop (null clears it)",
                "security": [{"apiKey": []}],
                "requestBody": _body(
                    {
                        "sign_in_url": {
                            "type": ["string", "null"],
                            "maxLength": 2048,
                            "pattern": f"^{SIGN_IN_URL.pattern}$",
                        }
                    },
                    ["sign_in_url"],
                ),
                "responses": {
                    "200": _json(_ref("Merchant")),
                    **_problems(_merge(_BODY, {401: ["invalid_api_key"], 422: ["invalid_field"]})),
                },
            }
        },
        "/api/v1/merchant/word-list": {
            "get": {
                "summary": "The merchant's moderation word list",
                "security": [{"apiKey": []}],
                "responses": {
                    "200": _json(_WORD_LIST),
                    **_problems({401: ["invalid_api_key"]}),
                },
            },
            "put": {
                "summary": "Replace the merchant's word list; its open rooms take it at once",
                "description": "Each entry is a word or a phrase of up to 4 words; `block` "
                "refuses a chat message or announcement holding it, `mask` shows it as •••. "
                "Matching folds case, width and accents (docs/rooms.md). `[]` clears the list.",
                "security": [{"apiKey": []}],
                "requestBody": _body(
                    {
                        "entries": {
                            "type": "array",
                            "maxItems": 200,
                            "items": {
                                "type": "object",
                                "properties": {
                                    "word": {"type": "string", "maxLength": 200, "pattern": _LINE},
                                    "action": {"enum": ["block", "mask"], "default": "block"},
                                },
                                "required": ["word"],
                                "additionalProperties": False,
                            },
                        }
                    },
                    ["entries"],
                ),
                "responses": {
                    "200": _json(
                        {
                            **_WORD_LIST,
                            "properties": {
                                **_WORD_LIST["properties"],
                                "rooms_updated": _INT,
                                "rooms_failed": _INT,
                            },
                            "required": [*_WORD_LIST["required"], "rooms_updated", "rooms_failed"],
                        }
                    ),
                    **_problems(
                        _merge(
                            _BODY,
                            {401: ["invalid_api_key"], 422: ["invalid_field", "invalid_word_list"]},
                        )
                    ),
                },
            },
        },
        "/api/v1/rooms/{room_id}/checkout": {
            "post": {
                "summary": "Open an order: the host's for the room's cart, or a live viewer's "
                "for their own lines",
                "description": "By the host of a group room (or a live room's whole cart): lock, "
                "price on the server and open one order (mode, all_or_nothing, participants). "
                "By a live viewer: an order of the viewer's own lines only (line_ids: some of "
                "them; buy: 'Buy now' adds one product and checks it out alone), while the room "
                "stays open; stock is reserved until the order is paid or ends "
                "(409 out_of_stock with sku, variant and available); drop: claim a running drop "
                "and pay for it at once. The answer's pay is the viewer's "
                "payment page (null for the host, or when it could not be opened at once).",
                "parameters": [_ROOM_ID],
                "security": _MEMBER,
                "requestBody": _body(
                    {
                        "mode": {"enum": ["host_pays", "own_lines", "equal_split"]},
                        "all_or_nothing": {"type": "boolean"},
                        "participants": {
                            "type": ["array", "null"],
                            "items": {"type": "string", "pattern": _ID_PATTERN},
                            "maxItems": 100,
                            "description": "who an equal split bills (member ids the host "
                            "picked); null or absent: the room's default",
                        },
                        "line_ids": {
                            "type": ["array", "null"],
                            "items": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": 64,
                                "pattern": _NO_CONTROL,
                            },
                            "minItems": 1,
                            "maxItems": 50,
                            "description": "(live viewer) which of their own lines; null or "
                            "absent: all of them",
                        },
                        "buy": {
                            "type": ["object", "null"],
                            "required": ["sku"],
                            "properties": {
                                "sku": {
                                    "type": "string",
                                    "minLength": 1,
                                    "maxLength": 64,
                                    "pattern": _NO_CONTROL,
                                },
                                "variant": {
                                    "type": ["string", "null"],
                                    "minLength": 1,
                                    "maxLength": 64,
                                    "pattern": _NO_CONTROL,
                                },
                                "quantity": {"type": "integer", "minimum": 1, "maximum": 99},
                            },
                            "description": "(live viewer) Buy now: add this product and check "
                            "it out alone",
                        },
                        "accept_prices": {
                            "type": "boolean",
                            "description": "(live viewer) go ahead although prices changed "
                            "since the line was added",
                        },
                        "drop": {
                            "type": ["object", "null"],
                            "required": ["drop_id"],
                            "properties": {
                                "drop_id": {
                                    "type": "string",
                                    "minLength": 1,
                                    "maxLength": 64,
                                    "pattern": _NO_CONTROL,
                                },
                                "variant": {
                                    "type": ["string", "null"],
                                    "minLength": 1,
                                    "maxLength": 64,
                                    "pattern": _NO_CONTROL,
                                },
                                "quantity": {"type": "integer", "minimum": 1, "maximum": 99},
                            },
                            "description": "(live viewer) claim a running drop and, on a win, "
                            "pay for it in the same step (the claim is decided in the room's "
                            "order; a lost claim reserves and charges nothing)",
                        },
                    }
                ),
                "responses": {
                    "200": _json(
                        _object(
                            {
                                "order": _ref("Order"),
                                "snapshot": {"type": "object"},
                                "pay": {"oneOf": [_URL_ANSWER, {"type": "null"}]},
                                "claim": _object(
                                    {"drop_id": {"type": "string"}, "line_id": {"type": "string"}},
                                    ["drop_id", "line_id"],
                                ),
                            },
                            ["order", "snapshot"],
                        ),
                        "the order and the priced snapshot (and a viewer's payment page; "
                        "claim: the drop line a drop claim won)",
                    ),
                    **_problems(
                        _merge(
                            _BODY,
                            _CHECKOUT_BASE,
                            {
                                403: ["host_only"],
                                409: [
                                    *_CHECKOUT_409,
                                    "out_of_stock",
                                    "line_in_checkout",
                                    "not_your_line",
                                    "cart_changed",
                                    "viewer_checkouts_open",
                                    "invalid_variant",
                                    "unknown_product",
                                    "too_many_lines",
                                    "drop_sold_out",
                                    "drop_ended",
                                    "drop_limit_reached",
                                    "no_active_drop",
                                    "drop_line",
                                ],
                                422: [
                                    "invalid_field",
                                    "invalid_participants",
                                    "invalid_text",
                                    "unknown_mode",
                                ],
                                503: ["provider_unavailable"],
                            },
                        )
                    ),
                },
            },
            "get": {
                "summary": "The latest snapshot and order of the room (and a live viewer's own)",
                "parameters": [_ROOM_ID],
                "security": _MEMBER,
                "responses": {
                    "200": _json(
                        _object(
                            {
                                "snapshot": _SNAPSHOT_OR_NULL,
                                "order": _ORDER_OR_NULL,
                                "own": {
                                    "oneOf": [
                                        _object(
                                            {"order": _ref("Order"), "snapshot": {"type": "object"}}
                                        ),
                                        {"type": "null"},
                                    ],
                                    "description": "a live viewer's latest own order",
                                },
                            },
                            ["snapshot", "order"],
                        )
                    ),
                    **_problems(_CHECKOUT_BASE),
                },
            },
        },
        "/api/v1/rooms/{room_id}/checkout/{order_id}/pay": {
            "post": {
                "summary": "The hosted payment page for the caller's share (same one twice)",
                "parameters": [_ROOM_ID, _ORDER_ID],
                "security": _MEMBER,
                "responses": {
                    "200": _json(_URL_ANSWER, "the hosted page: navigate there top-level"),
                    **_problems(
                        _merge(
                            _CHECKOUT_BASE,
                            {
                                403: ["not_a_payer"],
                                404: ["order_not_found"],
                                409: _CHECKOUT_409,
                                503: ["provider_unavailable"],
                            },
                        )
                    ),
                },
            }
        },
        "/api/v1/rooms/{room_id}/checkout/{order_id}/cancel": {
            "post": {
                "summary": "Cancel the order: the host (the cart unlocks), or the live viewer "
                "whose own order it is (their lines unfreeze, the stock goes back)",
                "parameters": [_ROOM_ID, _ORDER_ID],
                "security": _MEMBER,
                "responses": {
                    "200": _json(_object({"order": _ref("Order")})),
                    **_problems(
                        _merge(
                            _CHECKOUT_BASE,
                            {403: ["host_only"], 404: ["order_not_found"], 409: _CHECKOUT_409},
                        )
                    ),
                },
            }
        },
        "/api/v1/rooms/{room_id}/checkout/{order_id}/holdout": {
            "post": {
                "summary": "Host: decide what happens to an unpaid share (holdout recovery)",
                "description": "For a share that failed, expired or is not paid: the host covers "
                "it (host_covers), the other payers re-split it (split_others), or, when each "
                "pays their own lines, the holdout's lines are dropped (drop_lines). The share is "
                "released (never charged; money that still reaches it is sent back) and the "
                "order re-planned; the room records the choice for everyone (docs/checkout.md).",
                "parameters": [_ROOM_ID, _ORDER_ID],
                "security": _MEMBER,
                "requestBody": _body(
                    {
                        "payer": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 64,
                            "pattern": _NO_CONTROL,
                            "description": "the member id of the share's payer",
                        },
                        "choice": {"enum": list(HOLDOUT_CHOICES)},
                    },
                    ["payer", "choice"],
                ),
                "responses": {
                    "200": _json(_object({"order": _ref("Order")})),
                    **_problems(
                        _merge(
                            _CHECKOUT_BASE,
                            _BODY,
                            {
                                403: ["host_only"],
                                404: ["order_not_found"],
                                409: [
                                    "order_closed",
                                    "share_not_holdout",
                                    "holdout_is_host",
                                    "no_one_to_split",
                                    "lines_not_separable",
                                    "nothing_left",
                                ],
                                422: ["invalid_field"],
                            },
                        )
                    ),
                },
            }
        },
        "/api/v1/rooms/{room_id}/checkout/handoff": {
            "post": {
                "summary": "Host: a cart permalink to the merchant's own checkout",
                "parameters": [_ROOM_ID],
                "security": _MEMBER,
                "responses": {
                    "200": _json(_URL_ANSWER, "the merchant's cart page"),
                    **_problems(
                        _merge(
                            _CHECKOUT_BASE,
                            {
                                403: ["host_only"],
                                409: _CHECKOUT_409,
                                503: ["handoff_unconfigured"],
                            },
                        )
                    ),
                },
            }
        },
        "/webhooks/{provider}": {
            "post": {
                "summary": "Payment provider webhooks (signed; verified over the raw body)",
                "parameters": [_path("provider", "^[a-z0-9_-]{1,32}$")],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {
                    "200": _json({"type": "object", "required": ["received"]}),
                    **_problems(
                        {
                            400: [
                                "payload_malformed",
                                "signature_header_malformed",
                                "signature_header_missing",
                                "signature_mismatch",
                                "timestamp_in_future",
                                "timestamp_too_old",
                            ],
                            404: ["unknown_provider", "order_not_found"],
                            409: _CHECKOUT_409,
                            413: ["body_too_large"],
                            422: ["invalid_text"],
                            503: [
                                "payments_unconfigured",
                                "provider_unavailable",
                                "server_full",
                                "webhook_secret_missing",
                            ],
                        }
                    ),
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "Health",
                "responses": {
                    "200": _json(
                        _object({"status": _STR, "rooms": _INT, "broker": {"type": "boolean"}})
                    )
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {"description": "text", "content": {"text/plain": {"schema": _STR}}}
                },
            }
        },
    }


def openapi_document(server_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "coshop",
            "version": "1",
            "description": "Rooms, invites and the catalogue. Real-time traffic runs over the "
            "WebSocket /ws/rooms/{room_id}; see docs/protocol.md. Every error is "
            "application/problem+json; each response lists the codes it may carry. "
            "Limited routes answer 429 rate_limited with Retry-After (docs/operations.md).",
        },
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "merchant API key"},
                "memberToken": {"type": "http", "scheme": "bearer", "description": "member token"},
                "adminToken": {"type": "http", "scheme": "bearer", "description": "operator"},
            },
            "schemas": _SCHEMAS,
        },
        "paths": _rate_limited(
            {
                **_paths(),
                **_keys_paths(),
                **_webhook_paths(),
                **_console_paths(),
                **show_paths(),
                **store_paths(),
            }
        ),
    }


_RETRY_AFTER = {
    "description": "whole seconds to wait before trying again",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}


def _rate_limited(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation the rate limits cover (server/http/ratelimit.py's table) may answer
    ``429 rate_limited`` with ``Retry-After``: its client is over a window or over its share of
    the process's rooms."""
    for path, operations in paths.items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if route_group(method.upper(), path) is None:
                continue
            limited = _problems({429: ["rate_limited"]})["429"]
            limited["headers"] = {"Retry-After": _RETRY_AFTER}
            operation["responses"]["429"] = limited
    return paths


# -- a room for every shopper (publishable keys) and "Your rooms" (server.api.shopper_rooms,
# server.api.me) ------------------------------------------------------------------------------

_PK_PATTERN = "^pk_[A-Za-z0-9_-]{16,64}$"
_DEVICE = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_-]{32,128}$",
    "description": "this browser's random device secret (only its hash is kept)",
}
_DEVICE_BODY: dict[int, list[str]] = {422: ["invalid_device"]}
_PUBLISHABLE = _object(
    {
        "merchant_id": _STR,
        "publishable_key": {**_NULL_STR, "description": "pk_…; null when turned off"},
        "created_at": _NULL_INT,
        "origins": {
            "type": "array",
            "items": _STR,
            "description": "the key works only from these origins (and coshop's own pages)",
        },
        "snippet": {**_NULL_STR, "description": "the widget's script tag, ready to paste"},
        "store_url": {**_NULL_STR, "description": "the short URL for a store's QR sign"},
        "sign_url": {**_NULL_STR, "description": "a printable QR sign of store_url"},
    }
)
_SHOPPER_ROOM = _object(
    {
        "room_id": _STR,
        "kind": {"const": "group"},
        "title": _STR,
        "merchant_id": _STR,
        "shop": _STR,
        "join_policy": _JOIN_POLICY,
        "host": _object({"member_id": _STR, "token": _STR, "name": _STR}),
        "invite": _ref("Invite"),
        "links": _object({"room": _STR, "join": _STR, "ws": _STR}),
        "manage_url": {
            "type": "string",
            "description": "the host's manage link, shown once (it reopens the room as host)",
        },
    }
)
_MY_ROOM = _object(
    {
        "room_id": _STR,
        "title": _STR,
        "kind": {"enum": ["group", "live"]},
        "shop": _STR,
        "role": {**_NULL_STR, "description": "the member's role now; null when not in the room"},
        "status": {"enum": ["open", "checking_out", "left", "closed"]},
        "joined_at": _INT,
        "last_activity": {**_INT, "description": "ms since the epoch of the room's last event"},
        "url": _STR,
    }
)


def _keys_paths() -> dict[str, Any]:
    key_ops = {
        "summary": "",
        "security": [{"apiKey": []}],
        "responses": {
            "200": _json(_PUBLISHABLE),
            **_problems({401: ["invalid_api_key"]}),
        },
    }
    device_body = _body({"device": _DEVICE}, ["device"])
    return {
        "/api/v1/merchant/publishable-key": {
            "get": {**key_ops, "summary": "The publishable key, its snippet and store URL"},
            "post": {**key_ops, "summary": "Draw a new publishable key (the old one stops)"},
            "delete": {**key_ops, "summary": "Turn the publishable key off"},
        },
        "/api/v1/shopper-rooms": {
            "post": {
                "summary": "Start a shopper's own group room with the shop's publishable key"
                " (from a registered origin; rate-limited per client)",
                "security": [],
                "requestBody": _body(
                    {
                        "publishable_key": {"type": "string", "pattern": _PK_PATTERN},
                        "host_name": {"type": "string", "maxLength": MAX_NAME, "pattern": _LINE},
                        "title": {"type": "string", "maxLength": MAX_TITLE, "pattern": _NO_CONTROL},
                        "device": _DEVICE,
                        "parent": {
                            **_ORIGIN,
                            "description": "the page the widget sits in (must be registered)",
                        },
                    },
                    ["publishable_key", "host_name"],
                ),
                "responses": {
                    "201": _json(_SHOPPER_ROOM, "the new room; the caller is its host"),
                    **_problems(
                        _merge(
                            _BODY,
                            _DEVICE_BODY,
                            {
                                401: ["invalid_publishable_key"],
                                403: ["origin_not_allowed"],
                                422: ["invalid_field", "invalid_origin"],
                            },
                        )
                    ),
                },
            },
            "options": {
                "summary": "CORS preflight for a shop's own page",
                "security": [],
                "responses": {"204": {"description": "the methods and headers allowed"}},
            },
        },
        "/api/v1/me/rooms": {
            "post": {
                "summary": "The rooms this browser's device belongs to, hosted ones first",
                "security": [],
                "requestBody": device_body,
                "responses": {
                    "200": _json(_object({"rooms": {"type": "array", "items": _MY_ROOM}})),
                    **_problems(_merge(_BODY, _DEVICE_BODY)),
                },
            }
        },
        "/api/v1/me/rooms/{room_id}/token": {
            "post": {
                "summary": "A fresh member token for this device's member of the room",
                "parameters": [_ROOM_ID],
                "security": [],
                "requestBody": device_body,
                "responses": {
                    "201": _json(
                        _object(
                            {
                                "room_id": _STR,
                                "member_id": _STR,
                                "role": _STR,
                                "name": _STR,
                                "title": _STR,
                                "token": _STR,
                            }
                        )
                    ),
                    **_problems(
                        _merge(
                            _BODY,
                            _DEVICE_BODY,
                            {
                                403: ["banned", "kicked"],
                                404: ["not_your_room"],
                                410: ["left_room"],
                                503: ["server_full"],
                            },
                        )
                    ),
                },
            }
        },
        "/api/v1/me/rooms/{room_id}/claim": {
            "post": {
                "summary": "Tie this browser's device to the member the token names",
                "parameters": [_ROOM_ID],
                "security": _MEMBER,
                "requestBody": device_body,
                "responses": {
                    "200": _json(
                        _object({"room_id": _STR, "member_id": _STR, "claimed": {"const": True}})
                    ),
                    **_problems(
                        _merge(
                            _BODY,
                            _DEVICE_BODY,
                            {
                                401: _TOKEN_401,
                                403: _REMOVED,
                                404: ["room_not_found"],
                                409: ["member_claimed"],
                                503: ["server_full"],
                            },
                        )
                    ),
                },
            }
        },
    }


# -- outbound webhooks (server.api.webhooks, docs/webhooks.md) --------------------------------

_WEBHOOK_URL = {
    "type": "string",
    "maxLength": 2048,
    # an absolute http(s) URL without credentials or a fragment; production mode also refuses
    # http:// and private addresses (webhook_url_not_https, webhook_url_private)
    "pattern": '^https?://[A-Za-z0-9][A-Za-z0-9.-]*(:[1-9][0-9]{0,3})?([/?][!-"$-~]*)?$',
}
_WEBHOOK_EVENTS = {
    "type": "array",
    "minItems": 1,
    "maxItems": 32,
    "items": {"enum": ["*", *EVENT_TYPES, *RESERVED_TYPES]},
    "description": "event types to receive ('*': all); docs/webhooks.md lists them",
}
_WEBHOOK_DESCRIPTION = {"type": "string", "maxLength": 200, "pattern": _NO_CONTROL}
_WEBHOOK_FIELDS: dict[str, Any] = {
    "id": _STR,
    "url": _STR,
    "events": {"type": "array", "items": _STR},
    "description": _STR,
    "enabled": {"type": "boolean"},
    "created_at": _INT,
    "updated_at": _INT,
    "failing_since": {
        **_NULL_INT,
        "description": "start of the current run of failed attempts (ms); null after a 2xx",
    },
    "disabled_at": {**_NULL_INT, "description": "when it was disabled (ms); null while enabled"},
    "disabled_reason": {
        "enum": [None, "merchant", "failing"],
        "description": "merchant: PATCH enabled=false; failing: every attempt failed for 5 days "
        "(COSHOP_WEBHOOK_DISABLE_AFTER_S)",
    },
}
_WEBHOOK = _object(_WEBHOOK_FIELDS)
_WEBHOOK_WITH_SECRET = _object(
    {
        **_WEBHOOK_FIELDS,
        "secret": {"type": "string", "description": "Standard Webhooks secret, whsec_…"},
        "previous_secret_valid_until": {
            **_NULL_INT,
            "description": "after a rotation, the old secret also signs until then (ms)",
        },
    }
)
_DELIVERY_FIELDS: dict[str, Any] = {
    "id": _STR,
    "message_id": {**_STR, "description": "the webhook-id header: the same on every retry"},
    "event_type": _STR,
    "room_id": _STR,
    "status": {"enum": ["pending", "retrying", "delivered", "failed"]},
    "attempts": _INT,
    "created_at": _INT,
    "next_attempt_at": _NULL_INT,
    "last_status": _NULL_INT,
    "last_error": _NULL_STR,
    "done_at": _NULL_INT,
}
_DELIVERY = _object(_DELIVERY_FIELDS)
_WEBHOOK_ID = _path("endpoint_id")
_DELIVERY_ID = _path("delivery_id")
_WEBHOOK_401: dict[int, list[str]] = {401: ["invalid_api_key"]}
_WEBHOOK_404: dict[int, list[str]] = {
    401: ["invalid_api_key"],
    404: ["webhook_not_found"],
    422: ["invalid_text"],
}
_URL_CODES = [
    "invalid_field",
    "invalid_webhook_url",
    "webhook_url_not_https",
    "webhook_url_private",
    "webhook_url_unresolvable",
    "unknown_webhook_event",
]


def _webhook_paths() -> dict[str, Any]:
    one = "/api/v1/merchant/webhooks/{endpoint_id}"
    delivery = one + "/deliveries/{delivery_id}"
    key: list[dict[str, list[str]]] = [{"apiKey": []}]
    return {
        "/api/v1/merchant/webhooks": {
            "post": {
                "summary": "Add a webhook endpoint (answers its whsec_ secret)",
                "security": key,
                "requestBody": _body(
                    {
                        "url": _WEBHOOK_URL,
                        "events": _WEBHOOK_EVENTS,
                        "description": _WEBHOOK_DESCRIPTION,
                    },
                    ["url", "events"],
                ),
                "responses": {
                    "201": _json(_WEBHOOK_WITH_SECRET, "the endpoint, with its secret"),
                    **_problems(
                        _merge(
                            _BODY,
                            _WEBHOOK_401,
                            {409: ["too_many_webhooks"], 422: _URL_CODES},
                        )
                    ),
                },
            },
            "get": {
                "summary": "The merchant's webhook endpoints (without secrets)",
                "security": key,
                "responses": {
                    "200": _json(_object({"webhooks": {"type": "array", "items": _WEBHOOK}})),
                    **_problems(_WEBHOOK_401),
                },
            },
        },
        one: {
            "get": {
                "summary": "One webhook endpoint, with its secret",
                "security": key,
                "parameters": [_WEBHOOK_ID],
                "responses": {
                    "200": _json(_WEBHOOK_WITH_SECRET),
                    **_problems(_WEBHOOK_404),
                },
            },
            "patch": {
                "summary": "Change an endpoint's URL, events, description or enabled",
                "security": key,
                "parameters": [_WEBHOOK_ID],
                "requestBody": _body(
                    {
                        "url": _WEBHOOK_URL,
                        "events": _WEBHOOK_EVENTS,
                        "description": _WEBHOOK_DESCRIPTION,
                        "enabled": {
                            "type": "boolean",
                            "description": "true also re-enables an endpoint disabled for "
                            "failing and forgets its failures",
                        },
                    }
                ),
                "responses": {
                    "200": _json(_WEBHOOK),
                    **_problems(_merge(_BODY, _WEBHOOK_404, {422: _URL_CODES})),
                },
            },
            "delete": {
                "summary": "Remove an endpoint and its delivery log",
                "security": key,
                "parameters": [_WEBHOOK_ID],
                "responses": {
                    "204": {"description": "removed"},
                    **_problems(_WEBHOOK_404),
                },
            },
        },
        one + "/secret": {
            "post": {
                "summary": "Rotate the endpoint's secret (the old one also signs for 24 h)",
                "security": key,
                "parameters": [_WEBHOOK_ID],
                "responses": {
                    "200": _json(_WEBHOOK_WITH_SECRET),
                    **_problems(_WEBHOOK_404),
                },
            }
        },
        one + "/deliveries": {
            "get": {
                "summary": "The endpoint's delivery log, newest first",
                "security": key,
                "parameters": [
                    _WEBHOOK_ID,
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                    },
                    {
                        "name": "before",
                        "in": "query",
                        "required": False,
                        "description": "the previous page's next_before",
                        "schema": {"type": "integer", "minimum": 0, "maximum": 2**62},
                    },
                ],
                "responses": {
                    "200": _json(
                        _object(
                            {
                                "deliveries": {"type": "array", "items": _DELIVERY},
                                "next_before": _NULL_INT,
                            }
                        )
                    ),
                    **_problems(_merge(_WEBHOOK_404, {400: ["invalid_parameter"]})),
                },
            }
        },
        delivery: {
            "get": {
                "summary": "One delivery: its body as sent and every attempt",
                "security": key,
                "parameters": [_WEBHOOK_ID, _DELIVERY_ID],
                "responses": {
                    "200": _json(
                        _object(
                            {
                                **_DELIVERY_FIELDS,
                                "payload": {"type": "object"},
                                "attempt_log": {"type": "array", "items": {"type": "object"}},
                            }
                        )
                    ),
                    **_problems(_merge(_WEBHOOK_404, {404: ["delivery_not_found"]})),
                },
            }
        },
        delivery + "/resend": {
            "post": {
                "summary": "Send a delivery again (same webhook-id and body)",
                "security": key,
                "parameters": [_WEBHOOK_ID, _DELIVERY_ID],
                "responses": {
                    "202": _json(_DELIVERY, "queued"),
                    **_problems(_merge(_WEBHOOK_404, {404: ["delivery_not_found"]})),
                },
            }
        },
    }


# ---- the merchant console's reads and feed upload (server/api/console.py) ----------------------

_ROW_PROBLEM = _object(
    {"row": _INT, "field": _NULL_STR, "code": _STR, "message": _STR},
)
_IMPORT_REPORT = {
    "source": _STR,
    "format": _STR,
    "products": _INT,
    "variants": _INT,
    "pruned": _INT,
    "errors": {"type": "array", "items": _ROW_PROBLEM},
    "notices": {"type": "array", "items": _ROW_PROBLEM},
}


_MONEY_MAP = {
    "type": "object",
    "additionalProperties": _INT,
    "description": "minor units per ISO 4217 currency",
}
_CAUSES = {
    "type": "object",
    "description": "poll, pin, bring, announcement, associate, friend or self (docs/console.md)",
    "additionalProperties": _object({"lines": _INT, "units": _INT, "value": _MONEY_MAP}),
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, "description": description}


def _console_paths() -> dict[str, Any]:
    limit = _query(
        "limit", {"type": "integer", "minimum": 1, "maximum": 100}, "page size (default 50)"
    )
    lists = _problems(
        {
            400: ["invalid_parameter"],
            401: ["invalid_api_key"],
            422: ["invalid_field", "invalid_text"],
        }
    )
    # the body is the feed file, any text up to 20 MiB (413): what is not a product is reported
    # row by row in the 200 answer, as `coshop catalog import` does, never refused as a whole
    feed: dict[str, Any] = {"schema": {}}
    analytics_params = [
        _query("room_id", {"type": "string", "maxLength": 64, "pattern": _NO_CONTROL}, "one room"),
        _query("kind", {"enum": ["group", "live"]}, "only rooms of this kind"),
        _query("since", {"type": "string", "pattern": "^[0-9]{1,16}$"}, "rooms created since (ms)"),
    ]
    analytics_problems = _problems(
        {
            400: ["invalid_parameter"],
            401: ["invalid_api_key"],
            404: ["room_not_found"],
            422: ["invalid_field", "invalid_text"],
        }
    )
    return {
        "/api/v1/merchant/rooms": {
            "get": {
                "summary": "The merchant's rooms, newest first",
                "security": [{"apiKey": []}],
                "parameters": [
                    _query("status", {"enum": ["open", "closed"]}, "only open or closed rooms"),
                    limit,
                ],
                "responses": {
                    "200": _json(
                        _object(
                            {
                                "rooms": {
                                    "type": "array",
                                    "items": _object(
                                        {
                                            "room_id": _STR,
                                            "kind": {"enum": ["group", "live"]},
                                            "title": _STR,
                                            "created_at": _INT,
                                            "closed": {"type": "boolean"},
                                            "join_policy": _STR,
                                            "last_activity_at": {
                                                **_NULL_INT,
                                                "description": "ms; null: no event yet",
                                            },
                                        }
                                    ),
                                }
                            }
                        )
                    ),
                    **lists,
                },
            }
        },
        "/api/v1/merchant/orders": {
            "get": {
                "summary": "The merchant's orders, newest first (amounts in minor units, ms)",
                "security": [{"apiKey": []}],
                "parameters": [
                    limit,
                    _query(
                        "before",
                        {"type": "string", "pattern": "^[0-9]{1,12}-[A-Za-z0-9_-]{1,64}$"},
                        "the previous page's next_before",
                    ),
                ],
                "responses": {
                    "200": _json(
                        _object(
                            {
                                "orders": {
                                    "type": "array",
                                    "items": _object(
                                        {
                                            "order_id": _STR,
                                            "room_id": _STR,
                                            "status": _STR,
                                            "currency": _STR,
                                            "total_minor": _INT,
                                            "paid_minor": _INT,
                                            "refunded_minor": _INT,
                                            "payers": _INT,
                                            "paid_payers": _INT,
                                            "created_at": _INT,
                                            "updated_at": _INT,
                                        }
                                    ),
                                },
                                "next_before": _NULL_STR,
                            }
                        )
                    ),
                    **lists,
                },
            }
        },
        "/api/v1/merchant/analytics": {
            "get": {
                "summary": "Funnel, orders, revenue and what led to each paid line",
                "security": [{"apiKey": []}],
                "parameters": analytics_params,
                "responses": {
                    "200": _json(
                        _object(
                            {
                                "funnel": _object(
                                    {
                                        "joined": _INT,
                                        "added": _INT,
                                        "checked_out": _INT,
                                        "paid": _INT,
                                    }
                                ),
                                "rooms_count": _INT,
                                "carts": _INT,
                                "orders": _INT,
                                "paid_orders": _INT,
                                "revenue": _MONEY_MAP,
                                "attribution": _CAUSES,
                                "rooms": {"type": "array", "items": {"type": "object"}},
                                "truncated": {"type": "boolean"},
                            }
                        )
                    ),
                    **analytics_problems,
                },
            }
        },
        "/api/v1/merchant/analytics.csv": {
            "get": {
                "summary": "The analytics as CSV: per room and currency, or per cause",
                "security": [{"apiKey": []}],
                "parameters": [
                    *analytics_params,
                    _query("table", {"enum": ["rooms", "attribution"]}, "which table"),
                ],
                "responses": {
                    "200": {"description": "CSV", "content": {"text/csv": {"schema": _STR}}},
                    **analytics_problems,
                },
            }
        },
        "/api/v1/merchant/catalog": {
            "get": {
                "summary": "The catalogue's counts and latest imports with the rows they refused",
                "security": [{"apiKey": []}],
                "responses": {
                    "200": _json(
                        _object(
                            {
                                "merchant_id": _STR,
                                "products": _INT,
                                "variants": _INT,
                                "out_of_stock": _INT,
                                "revision": _INT,
                                "last_change_at": _NULL_INT,
                                "imports": {
                                    "type": "array",
                                    "items": _object(
                                        {
                                            "import_id": _STR,
                                            "at": _INT,
                                            "error_count": _INT,
                                            "notice_count": _INT,
                                            **_IMPORT_REPORT,
                                        }
                                    ),
                                },
                            }
                        )
                    ),
                    **_problems({400: ["invalid_parameter"], 401: ["invalid_api_key"]}),
                },
            }
        },
        "/api/v1/merchant/catalog/import": {
            "post": {
                "summary": "Upload a feed (the body is the file) and import it",
                "security": [{"apiKey": []}],
                "parameters": [
                    _query(
                        "filename",
                        {
                            "type": "string",
                            "maxLength": 200,
                            "pattern": "^[^\x00-\x1f\x7f-\x9f]*\\.(json|jsonld|csv|tsv|txt)$",
                        },
                        "the file's name: its extension picks the format",
                    ),
                    _query("prune", {"enum": ["true", "false"]}, "remove products not in the feed"),
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "text/csv": feed,
                        "text/tab-separated-values": feed,
                        "application/ld+json": feed,
                    },
                },
                "responses": {
                    "200": _json(_object(_IMPORT_REPORT)),
                    **_problems(
                        {
                            400: ["invalid_parameter"],
                            401: ["invalid_api_key"],
                            413: ["body_too_large"],
                            415: ["unsupported_media_type"],
                            422: ["bad_encoding", "invalid_field", "invalid_text"],
                        }
                    ),
                },
            }
        },
    }
