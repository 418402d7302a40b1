"""Spec text (YAML or JSON) as nodes that remember their line, within size limits."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import yaml

from item_bank.errors import InvalidInput, Problem

#: Specs larger than this are refused before parsing (a real spec is a few kilobytes).
MAX_SPEC_BYTES: Final = 1_000_000

#: Parsed nodes (after expanding YAML aliases) a spec may hold, against alias bombs.
MAX_SPEC_NODES: Final = 100_000


class TooLargeError(Exception):
    """The document expands to more than :data:`MAX_SPEC_NODES` nodes."""


@dataclass(slots=True)
class ScalarNode:
    """A value (text, number, boolean, null) and the line it is on (``None``: not from text)."""

    line: int | None
    value: object


@dataclass(slots=True)
class MapNode:
    """A mapping: its entries in document order, each key with its own line."""

    line: int | None
    items: list[tuple[str, int | None, Node]]


@dataclass(slots=True)
class SeqNode:
    """A list of nodes."""

    line: int | None
    items: list[Node]


Node = ScalarNode | MapNode | SeqNode


def format_of(data: bytes | str, filename: str) -> str:
    """``"JSON"`` or ``"YAML"``, by extension; without one, JSON when the text starts with ``{``."""
    lowered = filename.lower()
    if lowered.endswith(".json"):
        return "JSON"
    if lowered.endswith((".yaml", ".yml")):
        return "YAML"
    head = data[:64].lstrip()
    start = head[:1] if isinstance(head, str) else head[:1].decode("latin-1")
    return "JSON" if start == "{" else "YAML"


def compose(text: str, filename: str, fmt: str) -> Node:
    """The document's root node; unreadable or oversized text is an :class:`InvalidInput`."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InvalidInput([Problem(filename, "line 1", "", "the file is empty")])
        return _node_from_yaml(node, loader, fmt == "JSON", [MAX_SPEC_NODES])
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark is not None else ""
        what = exc.problem or exc.context or "unreadable"
        raise InvalidInput([Problem(filename, where, "", f"not valid {fmt}: {what}")]) from None
    except yaml.YAMLError as exc:
        raise InvalidInput([Problem(filename, "", "", f"not valid {fmt}: {exc}")]) from None
    except TooLargeError:
        raise InvalidInput([Problem(filename, "", "", "the spec is too large")]) from None
    finally:
        loader.dispose()


def _node_from_yaml(
    node: yaml.Node, loader: yaml.SafeLoader, json_mode: bool, budget: list[int]
) -> Node:
    budget[0] -= 1
    if budget[0] < 0:
        raise TooLargeError
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # YAML merge keys (<<) become ordinary keys
        items: list[tuple[str, int | None, Node]] = []
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            items.append(
                (
                    str(key),
                    key_node.start_mark.line + 1,
                    _node_from_yaml(value_node, loader, json_mode, budget),
                )
            )
        return MapNode(line, items)
    if isinstance(node, yaml.SequenceNode):
        return SeqNode(line, [_node_from_yaml(v, loader, json_mode, budget) for v in node.value])
    assert isinstance(node, yaml.ScalarNode)
    if json_mode and not node.style:
        # JSON's plain scalars are numbers, true, false and null: read them as JSON does
        # (YAML 1.1 would read 1e5 as text).
        return ScalarNode(line, json.loads(node.value))
    value: object = loader.construct_object(node, deep=True)
    return ScalarNode(line, value)


def node_from_python(value: object, budget: list[int]) -> Node:
    """Nodes without lines for already-parsed data (``budget[0]``: nodes still allowed)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise TooLargeError
    if isinstance(value, Mapping):
        return MapNode(
            None, [(str(k), None, node_from_python(v, budget)) for k, v in value.items()]
        )
    if isinstance(value, list | tuple):
        return SeqNode(None, [node_from_python(v, budget) for v in value])
    return ScalarNode(None, value)
