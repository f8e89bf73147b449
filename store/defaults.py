"""Defaults the settings need before the database layer is loaded."""

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./tossup.db"
