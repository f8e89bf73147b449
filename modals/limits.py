"""Slack's size limits, checked on the dict Slack would receive.

`View.to_dict()` in slack_sdk misses some limits (plain_text_input max_length, option lengths when given
as dicts, message block counts): this walks the whole payload and names every violation by its path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MODAL_BLOCKS_MAX = 100
MESSAGE_BLOCKS_MAX = 50
VIEW_TEXT_MAX = 24  # title, submit, close
PRIVATE_METADATA_MAX = 3000
CALLBACK_ID_MAX = 255
ID_MAX = 255  # block_id, action_id
PLAIN_TEXT_INPUT_MAX = 3000
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
OPTIONS_MAX = 100
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
SECTION_FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
INPUT_LABEL_MAX = 2000
INPUT_HINT_MAX = 2000
PLACEHOLDER_MAX = 150
ACTIONS_ELEMENTS_MAX = 25
CONTEXT_ELEMENTS_MAX = 10
TEXT_OBJECT_MAX = 3000


def _text(obj: Any) -> str:
    if isinstance(obj, Mapping):
        return str(obj.get("text", ""))
    return "" if obj is None else str(obj)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def at_most(self, path: str, what: str, size: int, limit: int) -> None:
        if size > limit:
            self.problems.append(f"{path}: {what} is {size}, limit {limit}")

    def text(self, path: str, what: str, obj: Any, limit: int) -> None:
        if obj is not None:
            self.at_most(path, what, len(_text(obj)), limit)

    def view(self, view: Mapping[str, Any]) -> None:
        for key in ("title", "submit", "close"):
            self.text("view", key, view.get(key), VIEW_TEXT_MAX)
        self.text("view", "private_metadata", view.get("private_metadata"), PRIVATE_METADATA_MAX)
        self.text("view", "callback_id", view.get("callback_id"), CALLBACK_ID_MAX)
        self.blocks(view.get("blocks") or [], MODAL_BLOCKS_MAX)

    def blocks(self, blocks: Sequence[Mapping[str, Any]], limit: int) -> None:
        self.at_most("blocks", "block count", len(blocks), limit)
        for index, block in enumerate(blocks):
            self.block(f"blocks[{index}]", block)

    def block(self, path: str, block: Mapping[str, Any]) -> None:
        kind = block.get("type")
        self.text(path, "block_id", block.get("block_id"), ID_MAX)
        if kind == "header":
            self.text(path, "header text", block.get("text"), HEADER_TEXT_MAX)
        elif kind == "section":
            self.text(path, "section text", block.get("text"), SECTION_TEXT_MAX)
            fields = block.get("fields") or []
            self.at_most(path, "field count", len(fields), SECTION_FIELDS_MAX)
            for i, field in enumerate(fields):
                self.text(f"{path}.fields[{i}]", "field text", field, SECTION_FIELD_TEXT_MAX)
            if block.get("accessory"):
                self.element(f"{path}.accessory", block["accessory"])
        elif kind == "input":
            self.text(path, "label", block.get("label"), INPUT_LABEL_MAX)
            self.text(path, "hint", block.get("hint"), INPUT_HINT_MAX)
            self.element(f"{path}.element", block.get("element") or {})
        elif kind == "actions":
            elements = block.get("elements") or []
            self.at_most(path, "element count", len(elements), ACTIONS_ELEMENTS_MAX)
            for i, element in enumerate(elements):
                self.element(f"{path}.elements[{i}]", element)
        elif kind == "context":
            elements = block.get("elements") or []
            self.at_most(path, "element count", len(elements), CONTEXT_ELEMENTS_MAX)
            for i, element in enumerate(elements):
                self.text(f"{path}.elements[{i}]", "text", element, TEXT_OBJECT_MAX)

    def element(self, path: str, element: Mapping[str, Any]) -> None:
        kind = element.get("type")
        self.text(path, "action_id", element.get("action_id"), ID_MAX)
        self.text(path, "placeholder", element.get("placeholder"), PLACEHOLDER_MAX)
        if kind == "plain_text_input":
            self.at_most(path, "max_length", int(element.get("max_length") or 0), PLAIN_TEXT_INPUT_MAX)
            self.text(path, "initial_value", element.get("initial_value"), PLAIN_TEXT_INPUT_MAX)
        elif kind == "button":
            self.text(path, "button text", element.get("text"), BUTTON_TEXT_MAX)
            self.text(path, "button value", element.get("value"), BUTTON_VALUE_MAX)
        options = list(element.get("options") or [])
        for group in element.get("option_groups") or []:
            options.extend(group.get("options") or [])
        self.at_most(path, "option count", len(options), OPTIONS_MAX)
        if element.get("initial_option"):
            options.append(element["initial_option"])
        for i, option in enumerate(options):
            self.text(f"{path}.options[{i}]", "option text", option.get("text"), OPTION_TEXT_MAX)
            self.text(f"{path}.options[{i}]", "option value", option.get("value"), OPTION_VALUE_MAX)


def check_slack_limits(payload: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> list[str]:
    """Every Slack limit the payload breaks (empty when it is fine).

    A dict with a `type` (modal, home) is a view: ≤ 100 blocks. A list of blocks, or a dict with only
    `blocks` (a message), is a message: ≤ 50 blocks.
    """
    checker = _Checker()
    if isinstance(payload, Mapping):
        if "type" in payload:
            checker.view(payload)
        else:
            checker.blocks(payload.get("blocks") or [], MESSAGE_BLOCKS_MAX)
    else:
        checker.blocks(payload, MESSAGE_BLOCKS_MAX)
    return checker.problems
