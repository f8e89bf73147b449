"""Pure domain logic: no Slack, no database."""
