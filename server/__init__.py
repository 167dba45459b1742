"""The coshop server: the ASGI app and everything that does I/O.

Dependency rule (docs/architecture.md): ``server`` may import ``checkout_bridge`` and ``rooms``;
neither of those may import ``server``.
"""
