"""Block Kit objects as the JSON Slack receives, built once per post.

slack_sdk turns a message's blocks into dicts inside every Web API call, re-running each object's
validators on the way (`JsonObject.to_dict`: `validate_json`, then its non-empty attributes): ~1.3 ms of a
submission's three posts, about half of it the validators, on the one event loop. Our builders keep
Slack's limits themselves (tests/test_modals.py and the digests' tests check every one with
`modals.limits.check_slack_limits`), so a post's blocks are rendered here without re-validating: the same
attributes, the same emptiness rules, sorted the same way; a class with a `to_dict` of its own (options,
confirmation dialogs…) renders itself. `tests/test_payload.py` holds it equal to slack_sdk's output for
every message the bot builds.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.basic_objects import EMPTY_ALLOWED_TYPE_AND_PROPERTY_LIST, JsonObject

_EMPTY_ALLOWED = frozenset((rule["type"], rule["property"]) for rule in EMPTY_ALLOWED_TYPE_AND_PROPERTY_LIST)
_GENERIC_TO_DICT = JsonObject.to_dict


def as_payload(value: Any) -> Any:
    """`value` (a Block Kit object, a list of them, or plain JSON) as the JSON slack_sdk would send."""
    if isinstance(value, JsonObject):
        if type(value).to_dict is not _GENERIC_TO_DICT:
            return as_payload(value.to_dict())  # its own rendering (and validation): rare, small objects
        kind = getattr(value, "type", None)
        rendered = {}
        for key in sorted(value.attributes):
            item = getattr(value, key, None)
            if item is None:
                continue
            if hasattr(item, "__len__") and len(item) == 0 and (kind, key) not in _EMPTY_ALLOWED:
                continue
            rendered[key] = as_payload(item)
        return rendered
    if isinstance(value, list | tuple):
        return [as_payload(item) for item in value]
    if isinstance(value, dict):
        return {key: as_payload(item) for key, item in value.items()}
    if callable(getattr(value, "to_dict", None)):  # not a JsonObject but renders itself (rich text styles)
        return as_payload(value.to_dict())
    return value
