"""SQL storage shared by the server's parts: one ``MetaData`` and the engine factory."""

from server.db.base import metadata

__all__ = ["metadata"]
