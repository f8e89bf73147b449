"""The team's settings: `app.yaml`, validated by pydantic at start.

Secrets never live here; they come from the environment (`bot.settings`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.config_errors import (
    ConfigLoader,
    PlacedProblems,
    describe_not_a_mapping,
    describe_validation,
    describe_yaml_error,
    did_you_mean,
)
from bot.cron import parse_cron
from bot.domain.criteria import CriteriaConfig, CriterionKind
from bot.domain.feedback import FeedbackConfig
from bot.domain.handoff import is_team_member
from bot.domain.memo import AuthorityLevel, BudgetStatus, MemoField, Temperature, Timeline
from bot.domain.options import CustomSelect, LocalizedLabel, SelectOption
from bot.domain.routing import RoutingConfig
from bot.domain.score import ScoreConfig
from bot.domain.scorecard import ScorecardConfig
from bot.domain.sla import SlaConfig
from bot.i18n import Lang

__all__ = ["AppConfig", "ConfigError", "LocalizedLabel", "SelectOption", "load_config"]

CHANNEL_ID_RE = re.compile(r"^[CGD][A-Z0-9]{2,}$")
USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")


def slack_channel(raw: object) -> str | None:
    """`raw` when it looks like a Slack channel id (C…, G…, D…), else None."""
    return raw if isinstance(raw, str) and CHANNEL_ID_RE.fullmatch(raw) else None


class ConfigError(Exception):
    """app.yaml cannot be used; the message names the key and what to put there."""


def _check_user_ids(ids: list[str]) -> list[str]:
    bad = [i for i in ids if not USER_ID_RE.match(i)]
    if bad:
        raise ValueError(f"not Slack user ids (they look like U0123ABCD): {', '.join(bad)}")
    return ids


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelsConfig(_Strict):
    fs: str = Field(description="channel id where toss-up notices are posted")

    @field_validator("fs", mode="before")  # before: an empty `fs:` (None) gets this hint too
    @classmethod
    def _channel_id(cls, value: object) -> str:
        if not isinstance(value, str) or not CHANNEL_ID_RE.match(value):
            raise ValueError(
                "set it to the ID of your FS channel (like C0123456789: in Slack, open the channel's "
                "details; the ID is at the bottom)"
            )
        return value


class RolesConfig(_Strict):
    inside_sales: list[str] = Field(default_factory=list)
    field_sales: list[str] = Field(default_factory=list)
    managers: list[str] = Field(default_factory=list)

    _ids = field_validator("inside_sales", "field_sales", "managers")(_check_user_ids)

    def has_member(self, actor_id: str) -> bool:
        """Whether `actor_id` is on the IS/FS team as these roles list it (see `is_team_member`)."""
        return is_team_member(
            actor_id=actor_id,
            inside_sales=self.inside_sales,
            field_sales=self.field_sales,
            managers=self.managers,
        )


DEFAULT_LEAD_SOURCES = (
    SelectOption(value="web_inquiry", label=LocalizedLabel(ja="Webお問い合わせ", en="Web inquiry")),
    SelectOption(value="seminar", label=LocalizedLabel(ja="セミナー・イベント", en="Seminar / event")),
    SelectOption(value="content", label=LocalizedLabel(ja="資料ダウンロード", en="Content download")),
    SelectOption(value="outbound", label=LocalizedLabel(ja="アウトバウンド", en="Outbound")),
    SelectOption(value="referral", label=LocalizedLabel(ja="紹介", en="Referral")),
    SelectOption(value="partner", label=LocalizedLabel(ja="パートナー", en="Partner")),
    SelectOption(value="other", label=LocalizedLabel(ja="その他", en="Other")),
)


MAX_CUSTOM_SELECTS = 5  # the memo modal must stay under Slack's 100 blocks


class MemoConfig(_Strict):
    lead_sources: list[SelectOption] = Field(default_factory=lambda: list(DEFAULT_LEAD_SOURCES))
    custom_selects: list[CustomSelect] = Field(default_factory=list)

    @field_validator("custom_selects")
    @classmethod
    def _custom_keys(cls, selects: list[CustomSelect]) -> list[CustomSelect]:
        keys = [s.key for s in selects]
        if len(set(keys)) != len(keys):
            raise ValueError("custom select keys must be unique")
        clashing = [k for k in keys if k in MemoField._value2member_map_]
        if clashing:
            raise ValueError(f"custom select keys may not reuse memo field names: {', '.join(clashing)}")
        if len(selects) > MAX_CUSTOM_SELECTS:
            raise ValueError(
                f"at most {MAX_CUSTOM_SELECTS} custom selects (the memo modal has a block limit)"
            )
        return selects

    @field_validator("lead_sources")
    @classmethod
    def _unique_and_bounded(cls, options: list[SelectOption]) -> list[SelectOption]:
        values = [o.value for o in options]
        if len(set(values)) != len(values):
            raise ValueError("lead source values must be unique")
        if not 1 <= len(options) <= 100:
            raise ValueError("give between 1 and 100 lead sources (Slack's limit for a select)")
        return options


class DeliveryConfig(_Strict):
    """How messages that Slack refused (rate limit, outage) are retried."""

    poll_seconds: Annotated[float, Field(gt=0, le=3600)] = 15
    first_retry_seconds: Annotated[float, Field(gt=0, le=3600)] = 10
    max_retry_seconds: Annotated[float, Field(gt=0, le=86400)] = 900
    give_up_after_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 72
    # One Slack call of the outbox waits this long; past it the post is "in doubt" and the next attempt
    # looks for it in the channel before sending again.
    slack_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10
    # A worker holds a message this long while sending it; a worker that dies holding it loses it to
    # another after this (which looks for the post first). Several Slack calls fit in it.
    lease_seconds: Annotated[float, Field(gt=0, le=3600)] = 300
    # Sends right after a request (the notice of a new toss-up…) run on this many workers at a time, so a
    # burst of requests is answered first and sent just after.
    workers: Annotated[int, Field(ge=1, le=64)] = 4

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> DeliveryConfig:
        if self.lease_seconds < 10 * self.slack_timeout_seconds:
            raise ValueError(
                f"lease_seconds ({self.lease_seconds:g}) must be at least 10 × slack_timeout_seconds "
                f"({self.slack_timeout_seconds:g}): a send makes several Slack calls within its lease"
            )
        return self


class DigestSchedule(_Strict):
    """Where a digest is posted and when (a 5-field cron in the team's time zone)."""

    # None (left out): channels.fs, where IS and FS already meet (`AppConfig.digest_channel`). An empty
    # `channel:` is still refused: the default is not validated, a written null is.
    channel: str | None = Field(default=None, description="channel id the digest is posted to")
    cron: str = Field(description="5-field cron in the team's time zone, e.g. '0 9 * * FRI'")

    @field_validator("channel", mode="before")  # before: an empty `channel:` (None) gets this hint too
    @classmethod
    def _channel_id(cls, value: object, info: ValidationInfo) -> str | None:
        if value is None and not (info.context or {}).get(FROM_FILE):
            return None  # a dumped config read back: no channel of its own (channels.fs)
        if not isinstance(value, str) or not CHANNEL_ID_RE.match(value):
            raise ValueError(
                "set it to the ID of the channel the digest goes to (like C0123456789: in Slack, open "
                "the channel's details; the ID is at the bottom)"
            )
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            parse_cron(value, tz=ZoneInfo("UTC"))
        except ValueError as exc:
            raise ValueError(
                f"{exc}; write 5 fields, minute hour day month weekday, e.g. '0 9 * * FRI' (Fridays 09:00)"
            ) from exc
        return value


class WeeklyDigestConfig(DigestSchedule):
    """The weekly IS/FS meeting agenda (週次連携ミーティング): where and when it is posted."""

    # An accepted deal whose outcome is still unrecorded this many days after the meeting needs support.
    outcome_due_days: Annotated[int, Field(ge=1, le=365)] = 14
    # How far back (by meeting time) accepted deals are chased for a sheet or an outcome.
    lookback_days: Annotated[int, Field(ge=7, le=730)] = 60


class MonthlyDigestConfig(DigestSchedule):
    """The monthly review (月次連携ミーティング) of the month before the scheduled time, e.g. on the 1st."""


class QuarterlyDigestConfig(DigestSchedule):
    """The quarterly criteria review (四半期) of the quarter before the scheduled time."""


FROM_FILE = "from_file"  # validation context: the settings come from app.yaml as written


class DigestsConfig(_Strict):
    """Digests posted to channels on a schedule; absent means not posted (the CLI still previews)."""

    weekly: WeeklyDigestConfig | None = None
    monthly: MonthlyDigestConfig | None = None
    quarterly: QuarterlyDigestConfig | None = None

    @field_validator("weekly", "monthly", "quarterly", mode="before")
    @classmethod
    def _not_left_empty(cls, value: object, info: ValidationInfo) -> object:
        # In app.yaml, `weekly:` with nothing after it reads as null: a digest half set up, not one turned
        # off (a settings object dumped and read back, with its nulls, is not a file someone wrote).
        if value is None and (info.context or {}).get(FROM_FILE):
            raise ValueError(
                'is empty: give { cron: "0 9 * * FRI" } (and a channel, else channels.fs), or remove the line'
                " to post none"
            )
        return value


_KNOWN_HINT = "(use a memo field name like budget_status, or a key of memo.custom_selects)"
SELECT_ENUMS: dict[MemoField, type[StrEnum]] = {
    MemoField.BUDGET_STATUS: BudgetStatus,
    MemoField.AUTHORITY: AuthorityLevel,
    MemoField.TIMELINE: Timeline,
    MemoField.TEMPERATURE: Temperature,
}


def _option_problem(values: Collection[str], allowed: frozenset[str]) -> str | None:
    """A typo in an option value would make a rule never match or refuse every memo: name it."""
    unknown = sorted(set(values) - allowed)
    if not unknown:
        return None
    hint = did_you_mean(unknown[0], allowed) if len(unknown) == 1 else ""
    return f"no such option {', '.join(unknown)}{hint} (options: {', '.join(sorted(allowed))})"


class AppConfig(_Strict):
    locale: Lang = Lang.JA
    timezone: str = "Asia/Tokyo"
    currency: str = "JPY"  # ISO 4217: what won amounts are in (the outcome form, KPIs, reviews, CSV)
    channels: ChannelsConfig
    roles: RolesConfig = Field(default_factory=RolesConfig)
    memo: MemoConfig = Field(default_factory=MemoConfig)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    criteria: CriteriaConfig = Field(default_factory=CriteriaConfig)
    score: ScoreConfig = Field(default_factory=ScoreConfig)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    sla: SlaConfig = Field(default_factory=SlaConfig)
    feedback: FeedbackConfig = Field(default_factory=FeedbackConfig)
    digests: DigestsConfig = Field(default_factory=DigestsConfig)
    scorecards: ScorecardConfig = Field(default_factory=ScorecardConfig)

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    def digest_channel(self, schedule: DigestSchedule) -> str:
        """Where a scheduled digest is posted: its own `channel`, else channels.fs."""
        return schedule.channel or self.channels.fs

    @field_validator("currency", mode="before")
    @classmethod
    def _currency_code(cls, value: object) -> str:
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value.strip()):
            raise ValueError("use a three-letter ISO 4217 code, like JPY, USD or EUR")
        return value.strip().upper()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Asia/Tokyo)") from exc
        return value

    @model_validator(mode="after")
    def _known_memo_answers(self) -> AppConfig:
        """Criteria and routing rules may only test answers the memo asks for; every miss is named at its
        rule (`criteria.rules[3] (id: competitors).field`) with the nearest known name."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        known = self.select_keys
        for index, criterion in enumerate(self.criteria.rules):
            if criterion.field not in known:
                hint = did_you_mean(criterion.field, known)
                problem = f"no memo field `{criterion.field}`{hint} {_KNOWN_HINT}"
                problems.append((("criteria", "rules", index, "field"), problem))
        options = self.select_options
        for index, rule in enumerate(self.routing.rules):
            for key, values in rule.match.items():
                where = ("routing", "rules", index, "match", key)
                if key not in options:
                    hint = did_you_mean(key, options)
                    fields = ", ".join(sorted(options))
                    problems.append(
                        (where, f"routing rules can only match select fields of the memo{hint} ({fields})")
                    )
                elif problem := _option_problem(values, options[key]):
                    problems.append((where, problem))
        for index, criterion in enumerate(self.criteria.rules):
            if criterion.kind is CriterionKind.ONE_OF and criterion.field in options:
                if problem := _option_problem(criterion.values, options[criterion.field]):
                    problems.append((("criteria", "rules", index, "values"), problem))
        if problems:
            raise PlacedProblems(problems)
        return self

    @cached_property
    def select_options(self) -> dict[str, frozenset[str]]:
        """Every select field of the memo (a rule can match it) → the values it can take."""
        options = {field.value: frozenset(enum) for field, enum in SELECT_ENUMS.items()}
        options["lead_source"] = self.lead_source_values
        options.update({s.key: frozenset(o.value for o in s.options) for s in self.memo.custom_selects})
        return options

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def lead_source_values(self) -> frozenset[str]:
        return frozenset(o.value for o in self.memo.lead_sources)

    @cached_property
    def custom_labels(self) -> dict[str, LocalizedLabel]:
        """Custom select key → its label (how criteria and scores name the team's own fields)."""
        return {s.key: s.label for s in self.memo.custom_selects}

    @cached_property
    def option_labels(self) -> dict[str, dict[str, LocalizedLabel]]:
        """Field → option value → label, for the team-defined selects (lead source, custom selects)."""
        labels = {"lead_source": {o.value: o.label for o in self.memo.lead_sources}}
        labels.update({s.key: {o.value: o.label for o in s.options} for s in self.memo.custom_selects})
        return labels

    @cached_property
    def select_keys(self) -> frozenset[str]:
        """Every memo answer a rule can match or a criterion can test: memo fields and custom selects."""
        return frozenset(f.value for f in MemoField) | {s.key for s in self.memo.custom_selects}


def load_config(path: Path) -> AppConfig:
    """Read and validate app.yaml; any problem raises ConfigError naming the file and the key.

    The message has one line per problem (all of them), each `path: key: what to do`.
    """
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=ConfigLoader)  # a SafeLoader
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found (set TOSSUP_CONFIG to your app.yaml)") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{path}: is a directory (set TOSSUP_CONFIG to the app.yaml file itself)") from exc
    except PermissionError as exc:
        raise ConfigError(f"{path}: cannot be read by this user (make it readable, or copy it)") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start + 1}): save it as UTF-8 (Japanese included)"
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(describe_yaml_error(path, exc)) from exc
    if not isinstance(raw, dict):
        raise ConfigError(describe_not_a_mapping(path, raw))
    try:
        return AppConfig.model_validate(raw, context={FROM_FILE: True})
    except ValidationError as exc:
        raise ConfigError(describe_validation(path, exc, raw, AppConfig)) from exc
