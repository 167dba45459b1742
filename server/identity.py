"""Who joins a room: a customer the merchant signed for, or an anonymous guest device.

This module is for: turning what a join request proves into an :class:`Identity` — verifying a
merchant-signed customer token (a JWT, with PyJWT; no hand-written crypto) or hashing a guest's
device secret — and checking the keys a merchant registers. It must not: store or log a token,
a device secret or a signing secret, or decide what an identity may do in a room (the join route
and ``rooms/`` do).

Customer tokens (docs/merchant-identity.md):

- HS256 with the merchant's signing secret (the previous secret stays valid for
  :data:`ROTATION_GRACE_MS` after a rotation), or ES256 with the P-256 public key the merchant
  registered. No other algorithm is accepted, ``none`` least of all.
- Claims: ``iss`` = the coshop merchant id (required: a token of another merchant is refused as
  such, not as a bad signature), ``sub`` = the shop's customer id (required, 1-128 characters),
  ``exp`` (required, at most :data:`MAX_LIFETIME_S` ahead), optional ``name``, ``iat``, ``nbf``.
  Times are checked with :data:`LEEWAY_S` of clock skew.

Identity keys are ``customer:<merchant id>:<sub>`` or ``guest:<sha256 hex of the device secret>``;
the registry stores only the SHA-256 of the key (:attr:`Identity.digest`). A device secret is
random (32 bytes from the browser's CSPRNG), so its hash cannot be reversed or guessed.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from server.storage.registry import MerchantKeys

__all__ = [
    "LEEWAY_S",
    "MAX_LIFETIME_S",
    "ROTATION_GRACE_MS",
    "Identity",
    "IdentityError",
    "guest_identity",
    "normalize_public_key",
    "verify_customer_token",
]

LEEWAY_S = 60
"""Clock skew allowed on ``exp``, ``nbf`` and ``iat`` (seconds)."""
MAX_LIFETIME_S = 86_400
"""A customer token may not expire more than a day ahead: a leaked token must not last."""
ROTATION_GRACE_MS = 3_600_000
"""How long the previous HS256 secret still verifies after a rotation (one hour)."""
MAX_TOKEN = 4096
MAX_SUB = 128

_DEVICE = re.compile(r"[A-Za-z0-9_-]{32,128}")


class IdentityError(Exception):
    """A join's proof of identity that cannot be used; ``code`` is a problem code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is joining: ``kind`` is ``"customer"`` or ``"guest"``."""

    kind: str
    key: str
    name: str | None = None  # the customer's name as the merchant signed it

    @property
    def digest(self) -> str:
        """Hex SHA-256 of the key: what ``room_identities`` stores."""
        return hashlib.sha256(self.key.encode("utf-8")).hexdigest()


def guest_identity(device_secret: object) -> Identity:
    """The guest a device secret proves (32-128 characters of base64url)."""
    if not isinstance(device_secret, str) or not _DEVICE.fullmatch(device_secret):
        raise IdentityError(
            422, "invalid_device", "device must be 32-128 random characters of A-Z a-z 0-9 _ -"
        )
    return Identity("guest", "guest:" + hashlib.sha256(device_secret.encode()).hexdigest())


def verify_customer_token(token: object, keys: MerchantKeys, now_ms: int) -> Identity:
    """The customer a merchant-signed JWT names; raises :class:`IdentityError`."""
    if keys.signing_secret is None and keys.public_key is None:
        raise IdentityError(
            409,
            "customer_identity_not_configured",
            "this shop has not set up signed-in customers (no signing secret or public key)",
        )
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        raise _invalid("customer_token must be a JWT of at most 4096 characters")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _invalid("customer_token is not a well-formed JWT") from exc
    if unverified.get("iss") != keys.merchant_id:
        raise IdentityError(
            401,
            "customer_token_wrong_merchant",
            "this customer token was issued for another shop (iss must be this room's merchant)",
        )
    candidates = _keys_for(header.get("alg"), keys, now_ms)
    claims: dict[str, object] | None = None
    for algorithm, key in candidates:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=keys.merchant_id,
                leeway=LEEWAY_S,
                options={"require": ["exp", "sub", "iss"]},
            )
            break
        except jwt.InvalidSignatureError:
            continue  # the next key (the previous secret), if any
        except jwt.ExpiredSignatureError as exc:
            raise IdentityError(
                401, "customer_token_expired", "this sign-in has expired; sign in again"
            ) from exc
        except jwt.ImmatureSignatureError as exc:
            raise _invalid("customer_token is not valid yet (check the shop's clock)") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise _invalid(f"customer_token lacks the {exc.claim!r} claim") from exc
        except jwt.PyJWTError as exc:
            raise _invalid(f"customer_token was refused: {exc}") from exc
    if claims is None:
        raise IdentityError(
            401, "customer_token_bad_signature", "the customer token's signature does not verify"
        )
    exp = claims["exp"]
    assert isinstance(exp, int | float)  # PyJWT checked it is a number
    if exp > time.time() + MAX_LIFETIME_S + LEEWAY_S:
        raise _invalid(f"customer_token must expire within {MAX_LIFETIME_S // 3600} hours")
    sub = claims["sub"]
    if not isinstance(sub, str) or not 1 <= len(sub) <= MAX_SUB or not _printable(sub):
        raise _invalid(f"sub must be 1-{MAX_SUB} printable characters")
    name = claims.get("name")
    if name is not None and (not isinstance(name, str) or not _printable(name)):
        raise _invalid("name must be printable text")
    return Identity("customer", f"customer:{keys.merchant_id}:{sub}", name or None)


def normalize_public_key(text: object) -> str:
    """An ES256 public key (PEM, or a JWK as JSON text) as PEM; raises :class:`IdentityError`."""
    if not isinstance(text, str) or not text.strip() or len(text) > 4096:
        raise _bad_key("public_key must be a PEM or JWK of at most 4096 characters")
    raw = text.strip()
    key: object
    try:
        if raw.startswith("{"):
            key = ECAlgorithm.from_jwk(json.loads(raw))
        else:
            key = serialization.load_pem_public_key(raw.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError, jwt.PyJWTError) as exc:
        raise _bad_key("public_key is not a PEM public key or an EC JWK") from exc
    if isinstance(key, ec.EllipticCurvePrivateKey):
        raise _bad_key("that is a private key: register the public key, keep the private one")
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise _bad_key("ES256 needs a P-256 (secp256r1) public key")
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode("ascii")


def _keys_for(alg: object, keys: MerchantKeys, now_ms: int) -> list[tuple[str, str]]:
    if alg == "HS256" and keys.signing_secret is not None:
        found = [("HS256", keys.signing_secret)]
        rotated = keys.signing_rotated_at
        if (
            keys.previous_signing_secret is not None
            and rotated is not None
            and now_ms - rotated < ROTATION_GRACE_MS
        ):
            found.append(("HS256", keys.previous_signing_secret))
        return found
    if alg == "ES256" and keys.public_key is not None:
        return [("ES256", keys.public_key)]
    accepted = [n for n, k in (("HS256", keys.signing_secret), ("ES256", keys.public_key)) if k]
    raise _invalid(f"customer_token is signed with {alg!r}; this shop accepts {accepted}")


def _printable(text: str) -> bool:
    return all(unicodedata.category(ch)[0] != "C" for ch in text)


def _invalid(message: str) -> IdentityError:
    return IdentityError(401, "customer_token_invalid", message)


def _bad_key(message: str) -> IdentityError:
    return IdentityError(422, "invalid_public_key", message)
