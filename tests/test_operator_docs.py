"""Issue 13: what an operator reads — the Slack manifests, the package's data files, the README's layout
and `/tossup help` — says what the code does."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.domain.kpi import parse_period
from bot.domain.scorecard import parse_scorecard_period
from bot.i18n import Lang, t
from handlers.command import SUB_COMMANDS

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ("http.yaml", "socket-mode.yaml")
_ASCII_WORD = re.compile(r"[a-z][a-z-]*")


def usage_hint(manifest: str) -> str:
    data = yaml.safe_load((ROOT / "manifests" / manifest).read_text(encoding="utf-8"))
    (command,) = [c for c in data["features"]["slash_commands"] if c["command"] == "/tossup"]
    return str(command["usage_hint"])


@pytest.mark.parametrize("manifest", MANIFESTS)
def test_the_usage_hint_names_every_sub_command(manifest: str) -> None:
    hint = usage_hint(manifest)
    named = set(re.findall(r"[a-z][a-z-]*", hint))
    for words in SUB_COMMANDS:
        ascii_words = {w for w in words if _ASCII_WORD.fullmatch(w)}
        if "memo" in words:
            assert "company name" in hint  # `/tossup Acme` (or `/tossup memo acme`) opens the memo
            continue
        assert ascii_words & named, f"{manifest}: usage_hint names none of {sorted(ascii_words)}"


def test_both_manifests_show_the_same_usage_hint() -> None:
    assert usage_hint("http.yaml") == usage_hint("socket-mode.yaml")


def test_the_package_data_the_build_ships_exists() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for package, patterns in pyproject["tool"]["setuptools"]["package-data"].items():
        for pattern in patterns:
            assert list((ROOT / package).glob(pattern)), f"{package}/{pattern} matches no file"


def test_nothing_in_the_repository_points_outside_it() -> None:
    outside = re.compile("/" + "work/")  # the machine the project was written on, not a clone's
    suffixes = {".py", ".md", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".txt"}
    found = []
    for path in [
        ROOT / "Makefile",
        *ROOT.glob("*.*"),
        *(p for d in _SOURCE_DIRS for p in (ROOT / d).rglob("*")),
    ]:
        if path.is_file() and (path.suffix in suffixes or path.name == "Makefile"):
            if outside.search(path.read_text(encoding="utf-8", errors="replace")):
                found.append(str(path.relative_to(ROOT)))
    assert found == []


_SOURCE_DIRS = ("bot", "handlers", "modals", "store", "tests", "manifests", "bench")


def test_the_app_yaml_reference_sits_under_configuration() -> None:
    headings = [
        line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines() if line.startswith("#")
    ]
    index = next(i for i, h in enumerate(headings) if h.startswith("### `app.yaml`"))
    parent = next(h for h in reversed(headings[:index]) if h.startswith("## "))
    assert parent == "## Configuration reference"


NOW = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize("lang", list(Lang))
def test_help_names_the_period_words_in_both_languages_and_each_one_works(lang: Lang) -> None:
    help_text = t(lang, "message.help")
    # The English help stays English (the Japanese words work there too, but are not taught to it).
    japanese = ("今月", "先月", "今週", "先週") if lang is Lang.JA else ()
    for word in (*japanese, "last", "week", "last-week"):
        assert word in help_text, (lang, word)
    kpi_line = next(line for line in help_text.split("\n") if "/tossup kpi" in line)
    scorecard_line = next(line for line in help_text.split("\n") if "/tossup scorecard" in line)
    for line, parse in ((kpi_line, parse_period), (scorecard_line, parse_scorecard_period)):
        bracket = re.search(r"\[([^\]]*)\]", line)
        assert bracket is not None, line
        words = re.findall(r"[^\s|()（）]+", bracket.group(1))
        for word in words:
            assert parse(word, now=NOW, tz=TOKYO) is not None, (lang, word)
    for word in ("今月", "先月", "今週", "先週"):
        assert parse_period(word, now=NOW, tz=TOKYO) is not None
