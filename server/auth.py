"""Signed, expiring tokens: who a WebSocket or API caller is, in which room, with which role.

Tokens are ``itsdangerous`` timed signatures over a small JSON payload, salted per purpose so a
token of one kind is never accepted as another. A member token never carries a secret; it names a
member id the server drew. Tokens are never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

if TYPE_CHECKING:
    from server.storage import Registry

__all__ = ["AuthError", "MemberClaims", "TokenSigner", "invite_refusal"]

_MEMBER_SALT = "coshop.member.v1"
_INVITE_SALT = "coshop.invite.v1"


class AuthError(Exception):
    """A token that cannot be used. ``code``: token_invalid or token_expired."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class MemberClaims:
    """What a member token proves: this member of this room, with this role and name."""

    room_id: str
    member_id: str
    role: str
    name: str
    # The invite the member joined with (None for the host, and for tokens minted before
    # invites were named): until the member has joined the room, revoking it refuses the token.
    invite_id: str | None = None


class TokenSigner:
    def __init__(self, secret_key: str, *, member_ttl_s: int = 86_400) -> None:
        self._member = URLSafeTimedSerializer(secret_key, salt=_MEMBER_SALT)
        self._invite = URLSafeTimedSerializer(secret_key, salt=_INVITE_SALT)
        self.member_ttl_s = member_ttl_s

    def member_token(self, claims: MemberClaims) -> str:
        payload = {"r": claims.room_id, "m": claims.member_id, "o": claims.role, "n": claims.name}
        if claims.invite_id is not None:
            payload["i"] = claims.invite_id
        return str(self._member.dumps(payload))

    def read_member_token(self, token: object) -> MemberClaims:
        data = self._load(self._member, token, self.member_ttl_s)
        invite = data.get("i")
        try:
            return MemberClaims(
                room_id=str(data["r"]),
                member_id=str(data["m"]),
                role=str(data["o"]),
                name=str(data["n"]),
                invite_id=None if invite is None else str(invite),
            )
        except (KeyError, TypeError) as exc:
            raise AuthError("token_invalid", "token payload is incomplete") from exc

    def invite_token(self, room_id: str, invite_id: str) -> str:
        return str(self._invite.dumps({"r": room_id, "i": invite_id}))

    def read_invite_token(self, token: object, max_age_s: int | None = None) -> tuple[str, str]:
        """The (room id, invite id) an invite token names; expiry is checked by the registry."""
        data = self._load(self._invite, token, max_age_s)
        try:
            return str(data["r"]), str(data["i"])
        except (KeyError, TypeError) as exc:
            raise AuthError("token_invalid", "invite payload is incomplete") from exc

    @staticmethod
    def _load(serializer: URLSafeTimedSerializer, token: object, max_age: int | None) -> Any:
        if not isinstance(token, str) or not token or len(token) > 2048:
            raise AuthError("token_invalid", "token missing or malformed")
        try:
            data = serializer.loads(token, max_age=max_age)
        except SignatureExpired as exc:
            raise AuthError("token_expired", "token has expired; ask for a new link") from exc
        except BadSignature as exc:
            raise AuthError("token_invalid", "token signature is not valid") from exc
        except UnicodeEncodeError as exc:  # a lone surrogate: no token was ever signed so
            raise AuthError("token_invalid", "token is not well-formed text") from exc
        if not isinstance(data, dict):
            raise AuthError("token_invalid", "token payload is not a map")
        return data


async def invite_refusal(registry: Registry, claims: MemberClaims) -> str | None:
    """Why a member token that has not joined its room yet no longer admits anyone (its invite
    was revoked), or None. Tokens that name no invite (the host's) are not affected."""
    if claims.invite_id is None:
        return None
    invite = await registry.get_invite(claims.invite_id)
    if invite is None or invite.revoked or invite.room_id != claims.room_id:
        return "the invite this token came from was revoked; ask for a new invite"
    return None
