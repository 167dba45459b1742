"""The one SQLAlchemy ``MetaData`` every coshop table is declared on.

Tables live next to the code that owns them (``server/storage/tables.py``,
``server/catalog/tables.py`` …) and register on this metadata; Alembic's ``env.py`` imports
``server.db.tables`` so autogenerate sees all of them.
"""

from sqlalchemy import MetaData

# A naming convention keeps constraint names stable across SQLite and PostgreSQL, which
# Alembic needs to alter or drop them later.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
