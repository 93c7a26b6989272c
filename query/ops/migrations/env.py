"""Alembic environment for the query log. Run programmatically by query.ops.querylog.migrate
with an open connection in `config.attributes["connection"]` (no alembic.ini needed, so an
installed package migrates its own database)."""

from alembic import context

from query.ops.querylog import Base

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` on the command line with -x url=...
    from sqlalchemy import create_engine

    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("give the database: alembic -x url=sqlite:///storage/querylog.sqlite upgrade head")
    connection = create_engine(url).connect()

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
