"""Toss-up criteria and quality score in words: checklist, field errors, score summary, the definition.

Pure builders over `bot.domain.criteria` / `bot.domain.score`. mrkdwn results escape every text a team or
rep wrote (labels, option values, memo answers); field errors are plain text (Slack shows them as is).
Optional `custom_labels` (custom select key → its label) and `option_labels` (field → option value →
label) let the readers see the team's wording instead of raw keys.
"""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.domain.criteria import (
    BUILTIN_CRITERIA,
    ENUM_SELECTS,
    CriteriaConfig,
    CriteriaEvaluation,
    CriteriaMode,
    Criterion,
    CriterionKind,
    CriterionResult,
)
from bot.domain.memo import MemoField
from bot.domain.options import LocalizedLabel
from bot.domain.score import ScoreBreakdown, ScoreItem, ScoreItemKey, ScoreLoss
from bot.i18n import Lang, t
from modals.common import field_label, plain
from modals.limits import HEADER_TEXT_MAX, SECTION_TEXT_MAX, TEXT_OBJECT_MAX
from modals.text import enum_label, escape_within, lines_within, truncate

FIELD_ERROR_MAX = 2000
NAME_MAX = 100
VALUES_MAX = 500  # the accepted answers of one rule, listed
VALUE_MAX = 80  # one answer quoted back
LOSS_REASONS_MAX = 4  # reasons listed per item before "and n more"
CUSTOM_BLOCK_PREFIX = "custom_"

Labels = Mapping[str, LocalizedLabel]
OptionLabels = Mapping[str, Mapping[str, LocalizedLabel]]
_NO_LABELS: Labels = {}
_NO_OPTIONS: OptionLabels = {}


def block_id_for(field: str) -> str:
    """The memo modal's input block_id for a field: the field itself, `custom_<key>` for custom selects."""
    if field in MemoField._value2member_map_:
        return field
    return f"{CUSTOM_BLOCK_PREFIX}{field}"


# ------------------------------------------------------------------------------------ shared helpers


class _Words:
    """Names, rules and reasons in one language; `mrkdwn` decides whether team/rep text is escaped."""

    def __init__(self, lang: Lang, *, mrkdwn: bool, custom_labels: Labels, option_labels: OptionLabels):
        self.lang = lang
        self.mrkdwn = mrkdwn
        self.custom_labels = custom_labels
        self.option_labels = option_labels

    def user(self, text: str, limit: int) -> str:
        """Text a team or rep wrote, safe for where it goes."""
        return escape_within(text, limit) if self.mrkdwn else truncate(text, limit)

    def field(self, name: str) -> str:
        if name in MemoField._value2member_map_:
            return field_label(self.lang, MemoField(name))
        label = self.custom_labels.get(name)
        return self.user(label.get(self.lang) if label else name, NAME_MAX)

    def option(self, field: str, value: str) -> str:
        """An answer's label (catalog labels for the memo's selects, the team's for the others)."""
        return self.user(self._plain_option(field, value), VALUE_MAX)

    def name(self, rule: Criterion) -> str:
        if rule.label is not None:
            return self.user(rule.label.get(self.lang), NAME_MAX)
        builtin = BUILTIN_CRITERIA.get(rule.id)
        if builtin is not None and builtin.field == rule.field:
            return t(self.lang, f"criteria.name.{rule.id}")
        return self.field(rule.field)

    def rule(self, rule: Criterion) -> str:
        if rule.kind is CriterionKind.REQUIRED:
            if rule.field == MemoField.COMPETITORS.value:
                return t(self.lang, "criteria.rule.required_competitors")
            return t(self.lang, "criteria.rule.required")
        if rule.kind is CriterionKind.ONE_OF:
            raw = t(self.lang, "criteria.or").join(self._plain_option(rule.field, v) for v in rule.values)
            values = self.user(raw, VALUES_MAX)
            return t(self.lang, "criteria.rule.one_of", values=values)
        if rule.kind is CriterionKind.MIN_LENGTH:
            return t(self.lang, "criteria.rule.min_length", min_length=rule.min_length, count=rule.min_length)
        return t(self.lang, "criteria.rule.timeline_within", months=rule.months)

    def _plain_option(self, field: str, value: str) -> str:
        """An option label before escaping (the list is escaped as a whole)."""
        enum = ENUM_SELECTS.get(MemoField(field)) if field in MemoField._value2member_map_ else None
        if enum is not None and value in enum._value2member_map_:
            return enum_label(self.lang, enum(value))
        label = self.option_labels.get(field, {}).get(value)
        return label.get(self.lang) if label else value

    def reason(self, result: CriterionResult) -> str:
        key = result.reason_key or "criteria.reason.missing"
        params = dict(result.params)
        if "value" in params:
            value = str(params["value"])
            if key in {"criteria.reason.not_one_of", "criteria.reason.timeline_too_late"}:
                params["value"] = self.option(result.field, value)
            else:
                params["value"] = self.user(value, VALUE_MAX)
        return t(self.lang, key, **params)


def _rules_by_id(config: CriteriaConfig) -> dict[str, Criterion]:
    return {rule.id: rule for rule in config.rules}


def _words(lang: Lang, mrkdwn: bool, custom_labels: Labels, option_labels: OptionLabels) -> _Words:
    return _Words(lang, mrkdwn=mrkdwn, custom_labels=custom_labels, option_labels=option_labels)


# ----------------------------------------------------------------------------------------- criteria


def criteria_checklist_text(
    evaluation: CriteriaEvaluation,
    config: CriteriaConfig,
    lang: Lang,
    *,
    custom_labels: Labels = _NO_LABELS,
    option_labels: OptionLabels = _NO_OPTIONS,
) -> str:
    """One mrkdwn line per evaluated criterion: "✅ 予算: 確認済み または 予算化予定" / "❌ … — 現在「…」".

    Results whose rule is no longer in `config` are skipped (the config changed since the evaluation).
    At most 3000 characters (a section's text).
    """
    words = _words(lang, True, custom_labels, option_labels)
    rules = _rules_by_id(config)
    lines: list[str] = []
    for result in evaluation.results:
        rule = rules.get(result.criterion_id)
        if rule is None:
            continue
        params = {"name": words.name(rule), "rule": words.rule(rule)}
        if result.passed:
            lines.append(t(lang, "criteria.check.passed", **params))
        else:
            lines.append(t(lang, "criteria.check.failed", reason=words.reason(result), **params))
    return lines_within(lines, SECTION_TEXT_MAX, lambda n: t(lang, "criteria.more", count=n))


def criteria_field_errors(
    evaluation: CriteriaEvaluation,
    config: CriteriaConfig,
    lang: Lang,
    *,
    custom_labels: Labels = _NO_LABELS,
    option_labels: OptionLabels = _NO_OPTIONS,
) -> dict[str, str]:
    """block_id → plain-text error for every failing criterion (several on one field are joined).

    Meant for `response_action: errors` in gate mode; it does not look at the mode itself, so warn mode
    may show the same messages next to its override-reason input.
    """
    words = _words(lang, False, custom_labels, option_labels)
    rules = _rules_by_id(config)
    messages: dict[str, list[str]] = {}
    for result in evaluation.failures:
        rule = rules.get(result.criterion_id)
        if rule is None:
            continue
        message = t(
            lang,
            "criteria.field_error",
            name=words.name(rule),
            rule=words.rule(rule),
            reason=words.reason(result),
        )
        messages.setdefault(block_id_for(result.field), []).append(message)
    return {block: truncate(" / ".join(parts), FIELD_ERROR_MAX) for block, parts in messages.items()}


def build_criteria_definition(
    config: CriteriaConfig,
    lang: Lang,
    custom_labels: Labels = _NO_LABELS,
    *,
    option_labels: OptionLabels = _NO_OPTIONS,
) -> tuple[str, list[Block]]:
    """The team's current criteria for `/tossup criteria` (ephemeral): (fallback text, blocks)."""
    words = _words(lang, True, custom_labels, option_labels)
    enabled = [rule for rule in config.rules if rule.enabled]
    disabled = [rule for rule in config.rules if not rule.enabled]
    mode_key = "criteria.mode.gate" if config.mode is CriteriaMode.GATE else "criteria.mode.warn"

    blocks: list[Block] = [
        HeaderBlock(text=plain(truncate(t(lang, "criteria.title"), HEADER_TEXT_MAX))),
        SectionBlock(text=MarkdownTextObject(text=f"{t(lang, 'criteria.intro')}\n{t(lang, mode_key)}")),
    ]
    if enabled:
        lines = [t(lang, "criteria.list_item", name=words.name(r), rule=words.rule(r)) for r in enabled]
        body = lines_within(
            [t(lang, "criteria.enabled_title"), *lines],
            SECTION_TEXT_MAX,
            lambda n: t(lang, "criteria.more", count=n),
        )
    else:
        body = t(lang, "criteria.none_enabled")
    blocks.append(SectionBlock(text=MarkdownTextObject(text=body)))
    if disabled:
        names = t(lang, "score.separator").join(words.name(r) for r in disabled)
        note = truncate(t(lang, "criteria.disabled", names=names), TEXT_OBJECT_MAX)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    return t(lang, "criteria.fallback", count=len(enabled)), blocks


# -------------------------------------------------------------------------------------------- score


def _item_name(lang: Lang, key: ScoreItemKey) -> str:
    return t(lang, f"score.item.{key.value}")


def score_summary_text(breakdown: ScoreBreakdown, lang: Lang) -> str:
    """ "*品質スコア 52 / 70*（FS評価30点は商談後）" and a line of points per item (mrkdwn)."""
    has_fs = breakdown.item(ScoreItemKey.FS_RATING) is not None
    params = {"total": breakdown.total, "max_total": breakdown.max_total}
    if has_fs:
        head = t(lang, "score.summary_complete", **params)
    else:
        fs = max(100 - breakdown.max_total, 0)
        head = t(lang, "score.summary", fs=fs, count=fs, **params)
    parts = [
        t(lang, "score.item_line", name=_item_name(lang, i.key), points=i.points, max_points=i.max_points)
        for i in breakdown.items
        if i.max_points > 0
    ]
    return truncate(f"{head}\n{' · '.join(parts)}", SECTION_TEXT_MAX)


def _loss_text(words: _Words, loss: ScoreLoss) -> str:
    params = dict(loss.params)
    params["field"] = words.field(loss.field) if loss.field else ""
    if "other" in params:
        params["other"] = words.field(str(params["other"]))
    if "value" in params:
        params["value"] = words.user(str(params["value"]), VALUE_MAX)
    if "rating" in params:  # one of the feedback sheet's star ratings
        params["rating"] = t(words.lang, f"feedback.field.{params['rating']}.label")
    return t(words.lang, loss.reason_key, **params)


def _item_reasons(words: _Words, item: ScoreItem) -> str:
    lang = words.lang
    separator = t(lang, "score.separator")
    reasons: list[str] = []
    unanswered: list[str] = []
    for loss in item.losses:
        if loss.reason_key == "score.loss.unanswered":
            unanswered.append(words.field(loss.field) if loss.field else "")
        else:
            reasons.append(_loss_text(words, loss))
    if unanswered:
        shown = unanswered[:LOSS_REASONS_MAX]
        fields = separator.join(shown)
        if len(unanswered) > len(shown):
            fields += separator + t(lang, "score.more", count=len(unanswered) - len(shown))
        reasons.append(t(lang, "score.loss.unanswered", fields=fields))
    shown = reasons[:LOSS_REASONS_MAX]
    if len(reasons) > len(shown):
        shown.append(t(lang, "score.more", count=len(reasons) - len(shown)))
    # "; " in English: a reason that starts with a field's label ("Decision maker not answered") is
    # capitalised, which after a comma read as a typo
    return t(lang, "score.reason_separator").join(shown)


def score_losses_text(
    breakdown: ScoreBreakdown, lang: Lang, limit: int = 5, *, custom_labels: Labels = _NO_LABELS
) -> str:
    """What cost points, most points lost first (ties in the table's order), at most `limit` items.

    For the IS rep: what to fix next time. mrkdwn; the rep's own text is escaped.
    """
    words = _words(lang, True, custom_labels, _NO_OPTIONS)
    lost = [item for item in breakdown.items if item.points < item.max_points]
    order = {item.key: index for index, item in enumerate(breakdown.items)}
    lost.sort(key=lambda item: (-item.lost, order[item.key]))
    if not lost:
        return t(lang, "score.losses_none")
    lines = [
        t(lang, "score.loss_line", name=_item_name(lang, i.key), lost=i.lost, reasons=_item_reasons(words, i))
        for i in lost[: max(limit, 0)]
    ]
    if len(lost) > limit:
        lines.append(t(lang, "score.more", count=len(lost) - max(limit, 0)))
    return lines_within(
        [t(lang, "score.losses_title"), *lines], SECTION_TEXT_MAX, lambda n: t(lang, "score.more", count=n)
    )
