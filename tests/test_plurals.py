"""Issue 13: "1 toss-ups". English counts take the singular for one: a counted message has `one` and `other`
entries in the catalog and `t` picks by its `count` param; every other English message either keeps the
number away from a noun ("toss-ups made this week: 1") or counts something that is never one."""

from __future__ import annotations

import re

import pytest

from bot.i18n import Lang, catalog, plural_form, t

COUNTED_NOUN = re.compile(
    r"\{(\w+)\} (?:more )?(toss-ups|reps|rows|days|meetings|items|versions|characters|points|deals|findings"
    r"|issues|criteria|months|sheets|pts)\b"
)
# A number before a plural noun that is never 1, and why.
NEVER_ONE = {
    "agenda.days.other": "the plural entry itself",
    "kpi.value.days": "a mean with one decimal: 1.0 days",
    "kpi.value.points": "an average with one decimal",
    "monthly.kpi.points": "a signed change with one decimal",
    "quarterly.points": "a signed change with one decimal",
    "feedback.error.too_long": "a field's limit, at least 40 characters",
    "error.too_long": "a field's limit, at least 40 characters",
    "issues.modal.problem.hint": "a fixed limit",
    "issues.close_modal.decision.hint": "a fixed limit",
    "issues.error.problem_too_long": "a fixed limit",
    "issues.error.decision_too_long": "a fixed limit",
    "criteria.rule.timeline_within": "3, 6 or 12 months",
    "quarterly.findings_none": "the minimum sample, 10 deals",
    "diagnose.evidence.meeting_posted": "the fixed 14-day window",
    "diagnose.evidence.meeting_not_posted": "the fixed 14-day window",
    "diagnose.evidence.feedback.one": "the fixed 30-day window (the one is the meeting)",
    "diagnose.evidence.feedback_no_meetings": "the fixed 30-day window",
    "diagnose.evidence.pdca.one": "the fixed 60-day window (the one is the issue)",
    "diagnose.evidence.pdca_none": "the fixed 60-day window",
    "diagnose.evidence.template.one": "the fixed 90-day window (the one is the toss-up)",
    "diagnose.evidence.template_none": "the fixed 90-day window",
    "diagnose.evidence.quality.one": "the fixed 90-day window (the one is the toss-up)",
    "diagnose.evidence.quality_none": "the fixed 90-day window",
    "memo_edit.button.history": "shown once a memo was edited: 2 versions or more",
}
NOT_NUMBERS = {"user", "field", "company"}  # "{user} toss-ups 3": a label after a name, not a count


@pytest.mark.parametrize(
    ("count", "form"),
    [
        (1, "one"),
        ("1", "one"),
        (0, "other"),
        (2, "other"),
        ("1,000", "other"),
        ("1.0", "other"),
        ("—", "other"),
    ],
)
def test_plural_form(count: object, form: str) -> None:
    assert plural_form(count) == form


def test_no_english_message_puts_a_count_before_a_plural_noun_without_a_singular() -> None:
    english = catalog(Lang.EN)
    offenders = []
    for key, text in english.items():
        if key.endswith(".other") or key in NEVER_ONE:
            continue
        if any(match.group(1) not in NOT_NUMBERS for match in COUNTED_NOUN.finditer(text)):
            offenders.append(f"{key}: {text}")
    assert offenders == []


def test_counted_messages_have_a_singular_that_differs_in_english() -> None:
    english = catalog(Lang.EN)
    counted = sorted(
        k.removesuffix(".other") for k in english if k.endswith(".other") and f"{k[:-6]}.one" in english
    )
    assert len(counted) >= 14
    for key in counted:
        assert english[f"{key}.one"] != english[f"{key}.other"], key


@pytest.mark.parametrize(
    ("key", "params", "one", "two"),
    [
        ("agenda.fallback", {"week": "W", "score": "50"}, "1 toss-up this week", "2 toss-ups this week"),
        ("monthly.fallback", {"month": "M"}, "1 toss-up", "2 toss-ups"),
        ("quarterly.note.overrides", {}, "1 toss-up failed a criterion and was", "2 toss-ups failed"),
        ("scorecard.overview.more", {}, "…and 1 more rep", "…and 2 more reps"),
    ],
)
def test_one_and_two_in_english_and_japanese(key: str, params: dict, one: str, two: str) -> None:
    assert one in t(Lang.EN, key, count="1", **params)
    assert two in t(Lang.EN, key, count="2", **params)
    assert t(Lang.JA, key, count="1", **params) == catalog(Lang.JA)[f"{key}.one"].format(count="1", **params)
