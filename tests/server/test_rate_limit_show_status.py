"""A show's waiting pages poll its status: a window of their own, outside the address's."""

from __future__ import annotations

from server.http.ratelimit import GROUPS, request_hits, route_group
from server.settings import Settings


def test_the_show_status_poll_has_its_own_group() -> None:
    assert route_group("GET", "/api/v1/rooms/r1/show") == "show_status"
    # everything else about a show stays in the ordinary groups
    assert route_group("PUT", "/api/v1/rooms/r1/show") == "api"
    assert route_group("POST", "/api/v1/rooms/r1/show/reminders") == "api"
    assert route_group("GET", "/api/v1/rooms/r1/show.ics") == "api"
    assert route_group("GET", "/api/v1/rooms/r1/show/moments") == "api"


def test_a_poll_counts_against_its_own_window_only() -> None:
    hits = request_hits("show_status", "member", "tok", "10.0.0.1")
    assert hits == [("show_status", "a:10.0.0.1")]
    # an ordinary API request counts against its group and the address's overall window
    assert ("address", "a:10.0.0.1") in request_hits("api", "address", "", "10.0.0.1")


def test_the_window_is_a_setting() -> None:
    assert GROUPS["show_status"] == "rate_show_status"
    assert Settings().rate_show_status == "6000/minute"
