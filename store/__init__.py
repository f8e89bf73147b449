"""The database layer of tossup. Knows nothing of Slack; builds on `bot.domain`.

Import from its modules (`store.db`, `store.handoffs`, …): this package itself stays empty so that reading
the settings (`store.defaults`) does not load SQLAlchemy and Alembic."""
