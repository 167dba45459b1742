"""The wire protocol's constants, defined once (DESIGN.md §12).

Pure modules only: no I/O, no asyncio, no imports from the rest of ``server``. The transport,
the Python client, the browser's generated ``static/js/protocol.js`` and ``docs/protocol.md``'s
tables all derive from what is declared here (:mod:`server.protocol.gen` writes the derived files;
tests fail when they drift).
"""
