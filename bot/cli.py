"""`tossup` command line: `tossup run` starts the bot; `tossup check` checks the set-up; `tossup digest
weekly|monthly|quarterly` previews (or `--post`s) a meeting agenda or a review; `tossup scorecards` the
reps' scorecards; `tossup export` the toss-ups as CSV; `tossup repost N` a toss-up's notice."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from bot.config import AppConfig, ConfigError, load_config
from bot.domain.digest_kind import DigestKind
from bot.errors import StartupError
from bot.i18n import Lang
from bot.logs import setup_logging
from bot.settings import (
    Settings,
    SettingsError,
    StoreSettings,
    load_log_settings,
    load_settings,
    load_store_settings,
)
from modals.metadata import ID_MAX


def _load(*, serving: bool = True) -> tuple[Settings, AppConfig]:
    settings = load_settings(serving=serving)
    config = load_config(settings.tossup_config)
    for warning in config.scorecards.warnings():  # allowed, but outside what the method advises
        print(f"tossup: warning: {warning}", file=sys.stderr)
    return settings, config


def _toss_up_number(raw: str) -> int:
    """123 or #123 (as the notice and the DMs show it), within the ids a toss-up can have."""
    digits = raw.strip().removeprefix("#")
    if not re.fullmatch(r"[0-9]{1,10}", digits) or not 1 <= int(digits) <= ID_MAX:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a toss-up number (like 123 or #123)")
    return int(digits)


def _period_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-12-04") from exc


class _VersionAction(argparse.Action):
    """`--version`: reads the installed package's metadata only when asked (importlib.metadata scans
    every installed distribution: ~30 ms that every other start of the command would pay)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **_: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="print the version")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version("tossup")
        except PackageNotFoundError:  # run from a checkout that was never installed
            installed = "(not installed)"
        print(f"{parser.prog} {installed}")  # on standard output, as argparse's own version action
        parser.exit()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tossup", description=__doc__)
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start the bot (the default)")
    check = sub.add_parser(
        "check", help="check the environment, app.yaml, the database and Slack (tokens, channels), then exit"
    )
    check.add_argument("--offline", action="store_true", help="check the settings' format only")
    repost = sub.add_parser("repost", help="post a toss-up's notice again after Slack refused it for good")
    repost.add_argument(
        "handoff_id",
        type=_toss_up_number,
        help="the toss-up's number: #123 in the notice, the IS rep's DMs and the log (123 or #123)",
    )
    digest = sub.add_parser("digest", help="preview a digest as text, or post it now (--post)")
    digest.add_argument("kind", choices=[k.value for k in DigestKind], help="which digest")
    digest.add_argument(
        "--period",
        type=_period_day,
        metavar="YYYY-MM-DD",
        help="any day of the period (default: this week; last month; last quarter)",
    )
    digest.add_argument(
        "--post", action="store_true", help="post it to the configured channel now (once per period, ever)"
    )
    cards = sub.add_parser("scorecards", help="preview the reps' scorecards, or DM them now (--post)")
    cards.add_argument("--period", metavar="PERIOD", help="a month (2026-11, last) or a quarter (2026-Q3)")
    cards.add_argument("--post", action="store_true", help="DM each rep theirs and managers all (once, ever)")
    export = sub.add_parser("export", help="the toss-ups of a period as CSV (UTF-8 with BOM, for Excel)")
    export.add_argument("--from", dest="first", type=_period_day, metavar="YYYY-MM-DD", help="first day")
    export.add_argument("--to", dest="last", type=_period_day, metavar="YYYY-MM-DD", help="last day")
    export.add_argument("--out", type=Path, metavar="FILE", help="write to FILE (default: standard output)")
    export.add_argument("--lang", choices=[lang.value for lang in Lang], help="headers (default: app.yaml)")
    args = parser.parse_args(argv)
    try:
        setup_logging(load_log_settings())
        if args.command == "check":
            from bot.preflight import run_check

            return run_check(offline=args.offline)
        settings, config = _settings_for(args)
        from bot import commands  # the bot itself: loaded only once the settings are known to be good

        return commands.dispatch(args, settings, config)
    except (SettingsError, ConfigError, StartupError) as exc:
        for line in str(exc).splitlines():  # app.yaml: one line per problem
            print(f"tossup: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def _settings_for(args: argparse.Namespace) -> tuple[Settings | StoreSettings | None, AppConfig | None]:
    """Read what the sub-command needs: Slack's secrets only to run or to post; none to repost."""
    if args.command == "repost":
        return None, None
    if args.command in (None, "run"):
        return _load()
    if getattr(args, "post", False):  # posts only: the bot token, not the signing secret
        return _load(serving=False)
    store = load_store_settings()
    return store, load_config(store.tossup_config)


if __name__ == "__main__":
    sys.exit(main())
