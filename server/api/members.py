"""Who a member token speaks for *now*: the room's state decides, not the token.

A member token is true when it is minted and stays signed for its whole lifetime; kicks, bans,
promotions and demotions since then are in the room's state. Every member-authenticated REST
route (snapshot, invites, checkout) asks :func:`member_now` or :func:`require_member`, which read
the room through the hub (between the actor's turns, committed state only) and refuse a removed
member with ``403 kicked`` or ``403 banned``, and a token of another room with ``403
not_member``. A member who never connected yet has only the token's word, which nothing can have
changed — except its invite: a token minted from an invite that was revoked before the member
joined is refused with ``403 invite_revoked`` (:func:`invite_refusal`, one registry read, only
for members the room has never seen). A member who left may come back with the same token, so
leaving is no removal.
"""

from __future__ import annotations

import dataclasses

from starlette.requests import Request

from rooms import Room
from server.api.common import bearer
from server.auth import AuthError, MemberClaims, TokenSigner, invite_refusal
from server.http.problem import ProblemError
from server.hub.hub import Hub, HubFull, RoomNotFound

__all__ = [
    "REMOVED_CODES",
    "invite_refusal",
    "member_now",
    "read_member",
    "require_member",
    "standing",
]

REMOVED_CODES = ("kicked", "banned", "not_member", "invite_revoked")
"""The 403 codes of a member token that no longer speaks for anyone in the room."""


def read_member(request: Request) -> MemberClaims | None:
    """The bearer's member token (of any room), or None if the bearer is none or not one."""
    token = bearer(request)
    if token is None:
        return None
    signer: TokenSigner = request.app.state.signer
    try:
        return signer.read_member_token(token)
    except AuthError:
        return None


async def standing(hub: Hub, room_id: str, claims: MemberClaims) -> MemberClaims:
    """``claims`` with the member's role in the room now; raises 403 if they were removed."""
    if claims.room_id != room_id:
        raise ProblemError(403, "not_member", "this member token is for another room")
    member_id = claims.member_id

    def look(room: Room, _seq: int) -> tuple[str | None, str | None]:
        if member_id in room.banned:
            return "banned", None
        if member_id in room.kicked:
            return "kicked", None
        role = room.role_of(member_id) or room.former_roles.get(member_id)
        return None, (role.value if role is not None else None)

    try:
        removed, role = await hub.inspect(room_id, look)
    except RoomNotFound as exc:
        raise ProblemError(404, "room_not_found", str(exc)) from exc
    except HubFull as exc:
        raise ProblemError(503, "server_full", str(exc), headers={"Retry-After": "30"}) from exc
    if removed == "banned":
        raise ProblemError(403, "banned", "you are banned from this room")
    if removed == "kicked":
        raise ProblemError(403, "kicked", "you were removed from this room; ask for a new invite")
    if role is None:  # never joined: the token has only its invite's word
        refusal = await invite_refusal(hub.registry, claims)
        if refusal is not None:
            raise ProblemError(403, "invite_revoked", refusal)
        return claims
    return dataclasses.replace(claims, role=role)


async def member_now(request: Request, room_id: str) -> MemberClaims | None:
    """The bearer member as the room sees them now; None if the bearer is no member token."""
    claims = read_member(request)
    if claims is None:
        return None
    return await standing(request.app.state.hub, room_id, claims)


async def require_member(request: Request, room_id: str) -> MemberClaims:
    """Like :func:`member_now`, but a missing or invalid member token is ``401``."""
    signer: TokenSigner = request.app.state.signer
    try:
        claims = signer.read_member_token(bearer(request))
    except AuthError as exc:
        raise ProblemError(401, exc.code, "send a member token of this room") from exc
    return await standing(request.app.state.hub, room_id, claims)
