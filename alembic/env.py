"""Alembic environment: runs on a connection handed over by store.migrations or pytest-alembic."""

from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

import store.models  # noqa: F401  (registers every table on the metadata)
from store.db import create_db_engine, database_url
from store.plans.search import is_search_index

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def include_name(name, type_, parent_names) -> bool:
    # the search index (0006) is derived from plans and is no model: autogenerate skips it
    return not (type_ in ("table", "index") and name and is_search_index(name))


def run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        render_as_batch=True,
        transaction_per_migration=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, sa.engine.Connection):
        run_on(given)
        return
    if isinstance(given, sa.engine.Engine):  # pytest-alembic hands over an engine
        with given.connect() as connection:
            run_on(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or database_url()
    engine = create_db_engine(url, foreign_keys=False, transactional_ddl=True)
    with engine.connect() as connection:
        run_on(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("plandesk migrations run online only (they read and backfill data).")
run_migrations_online()
