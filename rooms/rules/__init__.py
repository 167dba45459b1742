"""The decide half of the room: one module per feature, each turning a command into events.

Every function here takes ``(room, command, ctx)`` after :meth:`rooms.room.Room.decide` has checked
membership and the permission table, validates everything else, and returns events or raises a
:class:`rooms.errors.RoomError`. These functions must never mutate the room.
"""
