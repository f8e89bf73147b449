"""Errors the command line turns into one line naming what to fix (kept light: `bot.cli` imports it
before the bot is loaded)."""


class StartupError(Exception):
    """The bot cannot start: the database or Slack refuses; the message names the setting to check."""
