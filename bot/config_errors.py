"""app.yaml problems as lines an operator can act on: where (with the rule's id), what, and the fix.

pydantic's own wording ("Extra inputs are not permitted", "Input should be a valid string") and PyYAML's
multi-line reports are turned into one line per problem, each naming the key, with the nearest known key
suggested for a typo. Every problem is shown, not the first one and a count.
"""

from __future__ import annotations

import copy
import difflib
import types
import typing
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bot.domain.options import OPTION_VALUE_PATTERN, SELECT_KEY_PATTERN
from bot.domain.routing import CHANNEL_ID_PATTERN, RULE_NAME_PATTERN, USER_ID_PATTERN

Loc = tuple[str | int, ...]
Problem = tuple[str, str]  # (where in the file, what to do)

# What an empty value (`key:` with nothing after it) should have been, by pydantic's error type.
_EXPECTED = {
    "string_type": "a text value",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list (- item lines, or [a, b])",
    "dict_type": "a mapping (key: value lines)",
    "model_type": "a mapping (key: value lines)",
    "model_attributes_type": "a mapping (key: value lines)",
    "time_type": "a time like 09:00",
    "time_parsing": "a time like 09:00",
    "date_type": "a date like 2026-12-31",
    "date_parsing": "a date like 2026-12-31",
    "enum": "one of the listed values",
    "literal_error": "one of the listed values",
}


class PlacedProblems(ValueError):
    """Cross-field problems found by a model validator, each at its own place below that model.

    pydantic reports a model validator's error at the model itself; this carries the real places so
    they can be named (`criteria.rules[3] (id: competitors).field`) and all shown.
    """

    def __init__(self, problems: Sequence[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {message}" for loc, message in problems))
        self.problems = list(problems)


def nearest(word: str, known: Iterable[str]) -> str | None:
    """The known name closest to a misspelt one, if any is close enough to be what was meant."""
    matches = difflib.get_close_matches(word, sorted(set(known)), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`"; did you mean `timezone`?"`, or "" when nothing is close."""
    match = nearest(word, known)
    return f"; did you mean `{match}`?" if match else ""


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold, looking through Optional, unions, lists and dicts."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _models_in(args[0])
    if origin in (typing.Union, types.UnionType, list, tuple, set, frozenset, Sequence, Collection):
        return [model for arg in args for model in _models_in(arg)]
    if origin is dict and len(args) == 2:
        return _models_in(args[1])
    return []


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model that validates the mapping at `loc` (list indices and dict keys are stepped through)."""
    candidates = [root]
    for part in loc:
        if isinstance(part, int):
            continue  # an item of a list: the item type was already taken from the field's annotation
        following: list[type[BaseModel]] = []
        for model in candidates:
            field = model.model_fields.get(part)
            if field is not None:
                following += _models_in(field.annotation)
        if not following:  # a dict key (e.g. a routing match key): same value model
            continue
        candidates = following
    return candidates[0] if candidates else None


def _known_at(root: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the mapping at `loc` may have."""
    model = _model_at(root, loc)
    return list(model.model_fields) if model is not None else []


def _item(raw: Any, loc: Loc) -> Any:
    for part in loc:
        if isinstance(raw, dict) and part in raw:
            raw = raw[part]
        elif isinstance(raw, list) and isinstance(part, int) and 0 <= part < len(raw):
            raw = raw[part]
        else:
            return None
    return raw


def place(loc: Loc, raw: Any) -> str:
    """`criteria.rules[3] (id: competitors).field`: list items by index and, when they have one, id/name."""
    text = ""
    for depth, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
            item = _item(raw, loc[: depth + 1])
            if isinstance(item, dict):
                for label in ("id", "name", "key", "value"):
                    if isinstance(item.get(label), str | int):
                        text += f" ({label}: {item[label]})"
                        break
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


# What a value that does not match one of app.yaml's patterns should look like (pydantic says only the regex).
_PATTERNS = {
    CHANNEL_ID_PATTERN: "a Slack channel ID (like C0123456789: in Slack, open the channel's details; the ID "
    "is at the bottom)",
    USER_ID_PATTERN: "a Slack user ID (like U0123ABCD: in the person's profile, ⋮ → Copy member ID)",
    RULE_NAME_PATTERN: "a name of lower-case letters, digits, - and _ (like enterprise)",
    OPTION_VALUE_PATTERN: "a value of lower-case letters, digits, - and _ (like web_inquiry)",
    SELECT_KEY_PATTERN: "a key of lower-case letters, digits and _, starting with a letter (like segment)",
}
_MODELS = {
    "ChannelsConfig": "a section naming the FS channel, like { fs: C0123456789 }",
    "LocalizedLabel": "a label in both languages, like { ja: セグメント, en: Segment }",
    "SelectOption": "an option, like { value: enterprise, label: { ja: 大企業, en: Enterprise } }",
}


def _problem(error: Any, raw: Any, root: type[BaseModel]) -> tuple[Loc, str]:
    loc: Loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    kind = error["type"]
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        known = _known_at(root, loc[:-1])
        hint = did_you_mean(str(loc[-1]), known)
        if not hint and known:
            hint = f"; known keys here: {', '.join(known)}"
        return loc, f"`{loc[-1]}` is not a setting{hint}"
    if kind == "missing":
        return loc, "is required but missing"
    if error.get("input") is None and kind in _EXPECTED:
        return loc, f"is empty: expected {_EXPECTED[kind]}"
    ctx = error.get("ctx") or {}
    if kind == "string_pattern_mismatch" and (what := _PATTERNS.get(str(ctx.get("pattern")))):
        return loc, f"{error.get('input')!r} is not {what}"
    if kind == "model_type" and (what := _MODELS.get(str(ctx.get("class_name")))):
        return loc, f"expected {what}"
    if kind == "model_type":  # `channels: C0FS`: a value where a section of settings belongs
        keys = [part for part in loc if isinstance(part, str)]
        shape = (  # an item of a list (`rules: ['x']`) is written inside the list's brackets
            f"{keys[-1]}: [{{ key: value }}]"
            if loc and isinstance(loc[-1], int) and keys
            else f"{keys[-1] if keys else 'section'}: {{ key: value }}"
        )
        return loc, (
            f"is a section of settings, not {error.get('input')!r}: put its keys under it, like `{shape}`"
            " (see the app.yaml shipped with tossup)"
        )
    if kind.startswith("time_parsing") or kind == "time_type":
        return (
            loc,
            f'{error.get("input")!r} is not a time of day: write it in quotes as "HH:MM", like "09:00"',
        )
    if kind.startswith(("date_parsing", "date_from_datetime")):
        return loc, f"{error.get('input')!r} is not a date: write it as YYYY-MM-DD, like 2026-12-31"
    return loc, message


def problems_of(
    error: ValidationError, raw: Any, root: type[BaseModel], details: list[Any] | None = None
) -> list[Problem]:
    """Every problem of a validation (or of the `details` given of it), as (place, what to do), in the
    order of the file."""
    found: list[tuple[str, str, tuple[int, ...]]] = []
    details = error.errors() if details is None else details
    # A misspelt required key is both "missing" and "not a setting": the suggestion says it all.
    misspelt = {
        (tuple(d["loc"][:-1]), nearest(str(d["loc"][-1]), _known_at(root, tuple(d["loc"][:-1]))))
        for d in details
        if d["type"] == "extra_forbidden"
    }
    for detail in details:
        if detail["type"] == "missing" and (tuple(detail["loc"][:-1]), detail["loc"][-1]) in misspelt:
            continue
        inner = (detail.get("ctx") or {}).get("error")
        prefix: Loc = tuple(detail["loc"])
        if isinstance(inner, PlacedProblems):
            found += [
                (place(prefix + loc, raw), message, _file_order(raw, prefix + loc))
                for loc, message in inner.problems
            ]
            continue
        loc, message = _problem(detail, raw, root)
        found.append((place(loc, raw), message, _file_order(raw, loc)))
    found.sort(key=lambda problem: problem[2])  # stable: pydantic's order among equals
    return [(where, message) for where, message, _ in found]


def _file_order(raw: Any, loc: Loc) -> tuple[int, ...]:
    """Where `loc` sits in the file: each key's position among its siblings (a missing key: last)."""
    order: list[int] = []
    for part in loc:
        if isinstance(raw, dict):
            keys = list(raw)
            order.append(keys.index(part) if part in raw else len(keys))
            raw = raw.get(part)
        elif isinstance(raw, list) and isinstance(part, int):
            order.append(part)
            raw = raw[part] if 0 <= part < len(raw) else None
        else:
            order.append(0)
            raw = None
    return tuple(order)


def describe_validation(path: Path, error: ValidationError, raw: Any, root: type[BaseModel]) -> str:
    """One line per problem, each `app.yaml: key: message`: those of the keys and values, then those the
    checks across several keys find once the unknown keys are set aside (see `problems_behind`)."""
    found = problems_of(error, raw, root)
    found += [problem for problem in problems_behind(error, raw, root) if problem not in found]
    return "\n".join(f"{path}: {where}: {message}" for where, message in found)


def problems_behind(error: ValidationError, raw: Any, root: type[BaseModel]) -> list[Problem]:
    """Problems a misspelt key hid: pydantic runs a model's checks across its keys (a criteria rule on an
    unknown field, a routing key) only when nothing in it failed, so a file with a typo showed them only
    once the typo was fixed. Unknown keys are set aside and the file checked again: being unknown, they
    take part in no check, so what is found then is the file's own (a faulty value is not set aside: a
    check would then read the default in its place and report that as the file's)."""
    unknown = [tuple(detail["loc"]) for detail in error.errors() if detail["type"] == "extra_forbidden"]
    if not unknown:
        return []
    pruned = _without(raw, unknown)
    again = _validation_error(root, pruned)
    if again is None:
        return []
    # A misspelt required key is reported as the typo, not again as missing once the typo is set aside.
    details = [detail for detail in again.errors() if detail["type"] != "missing"]
    return problems_of(again, pruned, root, details)


def _validation_error(root: type[BaseModel], raw: Any) -> ValidationError | None:
    try:
        root.model_validate(raw)
    except ValidationError as error:
        return error
    return None


def _without(raw: Any, keys: list[Loc]) -> Any:
    """A copy of `raw` without the mapping keys at `keys` (list items stay: their places keep their
    numbers)."""
    pruned = copy.deepcopy(raw)
    for loc in keys:
        parent = pruned
        for part in loc[:-1]:
            try:
                parent = parent[part]
            except (KeyError, IndexError, TypeError):
                parent = None
                break
        if isinstance(parent, dict) and loc[-1] in parent:
            del parent[loc[-1]]
    return pruned


def _yaml_advice(problem: str) -> str:
    if "found character '\\t'" in problem or "tab" in problem:
        return "indent with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return "put quotes around a value that contains ': ', or fix the indentation of this key"
    if "expected ',' or ']'" in problem or "expected ',' or '}'" in problem:
        return "close the [ … ] or { … } opened there, or quote a value containing , [ ] { }"
    if "could not find expected ':'" in problem:
        return "write `key: value` (a space after the colon), or quote the text"
    if "found undefined alias" in problem or "found unhashable key" in problem:
        return "quote values that start with * & ! [ {"
    if "is not a date" in problem:
        return "write a real date as YYYY-MM-DD (quote it to keep it as text)"
    if "did not find expected key" in problem or "block" in problem:
        return "keys of the same mapping must line up at the same indentation"
    return "check the indentation and quoting on that line"


class ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a value it cannot construct (an unquoted date that is not one,
    like 2026-13-01) is a marked error, reported with its line and column like a syntax error."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:  # type: ignore[override]
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a date ({exc})", node.start_mark
            ) from exc


ConfigLoader.add_constructor("tag:yaml.org,2002:timestamp", ConfigLoader.construct_yaml_timestamp)


def describe_yaml_error(path: Path, error: yaml.YAMLError) -> str:
    """PyYAML's multi-line report as one line: file, line, column, the problem and what to check."""
    if not isinstance(error, yaml.MarkedYAMLError):
        return f"{path}: not valid YAML ({str(error).splitlines()[0]}): check the file's syntax"
    problem = error.problem or error.context or "syntax error"
    mark = error.problem_mark
    # An unclosed bracket is only noticed at the end of the file: point at where it was opened.
    if (mark is None or "<stream end>" in problem) and error.context_mark is not None:
        mark = error.context_mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    context = f" {error.context}" if error.context and error.context not in problem else ""
    return f"{where}: not valid YAML ({problem}{context}): {_yaml_advice(problem)}"


def describe_not_a_mapping(path: Path, raw: Any) -> str:
    if raw is None:
        return (
            f"{path}: the file is empty: copy the app.yaml shipped with tossup and set channels.fs "
            "(at least `channels: {fs: C0123456789}`)"
        )
    return (
        f"{path}: expected settings (key: value lines, like `channels: {{fs: C0123456789}}`) at the top "
        f"level, found {type(raw).__name__}"
    )
