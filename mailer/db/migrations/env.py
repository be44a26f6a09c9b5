"""Alembic runs migrations on the connection the service hands it."""

from alembic import context

import mailer.db.events  # registers the event tables with Base
import mailer.db.materials  # registers the material bank with Base
import mailer.db.polls  # registers the poll tables with Base
import mailer.db.shared_answers  # noqa: F401 - registers the shared answers with Base
from mailer.db.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
