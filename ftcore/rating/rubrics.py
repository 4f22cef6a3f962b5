"""Rubrics: the criteria raters score, read from YAML with errors that name file, line and field.

A rubric file (see rubrics/greeting.yaml) holds an `id`, a `version`, a `name` and
`instructions` for raters, and a list of `criteria`, each with an `id`, a `name`, a
`description` and a `scale` whose points 1..N (N from 2 to 10; 1..5 in the shipped rubrics)
all carry an anchor text. Every text is given in Chinese and English ({zh: …, en: …}).

The file is composed into YAML nodes rather than loaded straight into dicts, so that every
problem can say on which line it is, and so that a key given twice (which PyYAML would
silently overwrite) is an error too. A session stores `Rubric.to_json()` and its hash:
editing or deleting the file later never changes a session that used it.

Rubrics are found by id in the workspace's `rubrics/` folder first (users add their own
there), then in the project's `rubrics/` folder; a path to a YAML file works as well.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from ftcore.errors import ConfigError, RubricError, did_you_mean

BUILTIN_RUBRICS = Path(__file__).resolve().parents[2] / "rubrics"
LANGUAGES = ("zh", "en")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")  # also a CSV column prefix: keep it plain
MIN_POINTS, MAX_POINTS = 2, 10
MAX_TEXT = 4000

TOP_KEYS = {"id": True, "version": True, "name": True, "instructions": True, "criteria": True}
CRITERION_KEYS = {"id": True, "name": True, "description": True, "scale": True}


@dataclass(frozen=True)
class Criterion:
    """One thing raters score, on a scale 1..len(scale), each point with its anchor."""

    id: str
    name: dict[str, str]  # language → text
    description: dict[str, str]
    scale: dict[int, dict[str, str]]  # point → language → anchor text

    @property
    def points(self) -> range:
        return range(1, len(self.scale) + 1)

    def to_json(self) -> dict:
        scale = {str(point): dict(anchor) for point, anchor in self.scale.items()}
        return {
            "id": self.id,
            "name": dict(self.name),
            "description": dict(self.description),
            "scale": scale,
        }


@dataclass(frozen=True)
class Rubric:
    """A validated rubric; `to_json()` is what a session stores and raters are sent."""

    id: str
    version: int
    name: dict[str, str]
    instructions: dict[str, str]
    criteria: tuple[Criterion, ...]
    source: str = ""  # the file it was read from ("" when built from a session's JSON)
    text: str = ""  # that file's text, as read

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "version": self.version,
            "name": dict(self.name),
            "instructions": dict(self.instructions),
            "criteria": [criterion.to_json() for criterion in self.criteria],
        }

    @property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON: comments and layout of the file do not count."""
        canonical = json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def criterion_ids(self) -> list[str]:
        return [criterion.id for criterion in self.criteria]


def rubric_from_json(value: dict) -> Rubric:
    """The Rubric a session stored (the inverse of Rubric.to_json)."""
    criteria = tuple(
        Criterion(
            item["id"],
            item["name"],
            item["description"],
            {int(point): anchor for point, anchor in item["scale"].items()},
        )
        for item in value["criteria"]
    )
    return Rubric(value["id"], value["version"], value["name"], value["instructions"], criteria)


class _NodeReader:
    """Turns YAML nodes into checked values, raising RubricError at the node's line."""

    def __init__(self, path: str):
        self.path = path

    def error(self, node: yaml.Node, field: str, problem: str) -> RubricError:
        return RubricError(self.path, node.start_mark.line + 1, field, problem)

    def mapping(self, node: yaml.Node, field: str, keys: dict[str, bool]) -> dict[str, yaml.Node]:
        """The values of a mapping with exactly the `keys` (key → required)."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, field, f"expected a mapping with keys {', '.join(keys)}")
        values: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            where = f"{field}.{key}" if field else str(key)
            if key in values:
                raise self.error(key_node, where, "given twice")
            if key not in keys:
                hint = did_you_mean(str(key), keys)
                raise self.error(
                    key_node, where, f"unknown key.{hint or ' Allowed: ' + ', '.join(keys)}"
                )
            values[key] = value_node
        for key, required in keys.items():
            if required and key not in values:
                raise self.error(node, f"{field}.{key}" if field else key, "missing")
        return values

    def text(self, node: yaml.Node, field: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str":
            raise self.error(node, field, "expected text")
        value = node.value.strip()
        if not value:
            raise self.error(node, field, "empty")
        if len(value) > MAX_TEXT:
            raise self.error(node, field, f"{len(value)} characters, at most {MAX_TEXT}")
        return value

    def integer(self, node: yaml.Node, field: str) -> int:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:int":
            raise self.error(node, field, f"expected an integer, got {_shown(node)}")
        return int(node.value)

    def identifier(self, node: yaml.Node, field: str) -> str:
        value = self.text(node, field)
        if not ID_PATTERN.match(value):
            raise self.error(
                node, field, f"{value!r}: use lowercase letters, digits and _ (e.g. style_fit)"
            )
        return value

    def bilingual(self, node: yaml.Node, field: str) -> dict[str, str]:
        values = self.mapping(node, field, dict.fromkeys(LANGUAGES, True))
        return {lang: self.text(values[lang], f"{field}.{lang}") for lang in LANGUAGES}

    def sequence(self, node: yaml.Node, field: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.error(node, field, "expected a non-empty list")
        return node.value


def _shown(node: yaml.Node) -> str:
    return repr(node.value) if isinstance(node, yaml.ScalarNode) else type(node).__name__


def _scale(reader: _NodeReader, node: yaml.Node, field: str) -> dict[int, dict[str, str]]:
    if not isinstance(node, yaml.MappingNode):
        raise reader.error(node, field, "expected a mapping of point → {zh, en} anchor")
    anchors: dict[int, dict[str, str]] = {}
    for key_node, value_node in node.value:
        point = reader.integer(key_node, f"{field}.{key_node.value}")
        if point in anchors:
            raise reader.error(key_node, f"{field}.{point}", "given twice")
        anchors[point] = reader.bilingual(value_node, f"{field}.{point}")
    top = max(anchors, default=0)
    expected = list(range(1, top + 1))
    if sorted(anchors) != expected or not MIN_POINTS <= top <= MAX_POINTS:
        raise reader.error(
            node,
            field,
            f"points {sorted(anchors)}: every point from 1 to N (N from {MIN_POINTS} to "
            f"{MAX_POINTS}) needs an anchor",
        )
    return {point: anchors[point] for point in expected}


def _criterion(reader: _NodeReader, node: yaml.Node, field: str) -> Criterion:
    values = reader.mapping(node, field, CRITERION_KEYS)
    return Criterion(
        reader.identifier(values["id"], f"{field}.id"),
        reader.bilingual(values["name"], f"{field}.name"),
        reader.bilingual(values["description"], f"{field}.description"),
        _scale(reader, values["scale"], f"{field}.scale"),
    )


def parse_rubric(text: str, source: str) -> Rubric:
    """Validate a rubric's YAML `text`; RubricError names `source`, the line and the field."""
    reader = _NodeReader(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        context = ""
        if error.context and error.context_mark:
            context = f" ({error.context} started on line {error.context_mark.line + 1})"
        problem = f"not valid YAML: {error.problem}{context}"
        raise RubricError(source, line, "(file)", problem) from None
    if root is None:
        raise RubricError(source, 1, "(file)", "empty: a rubric needs id, name, criteria…")
    values = reader.mapping(root, "", TOP_KEYS)
    criteria = []
    for index, node in enumerate(reader.sequence(values["criteria"], "criteria")):
        criterion = _criterion(reader, node, f"criteria[{index}]")
        if criterion.id in {c.id for c in criteria}:
            raise reader.error(node, f"criteria[{index}].id", f"{criterion.id!r} given twice")
        criteria.append(criterion)
    version = reader.integer(values["version"], "version")
    if version < 1:
        raise reader.error(values["version"], "version", f"{version}: expected 1 or more")
    return Rubric(
        id=reader.identifier(values["id"], "id"),
        version=version,
        name=reader.bilingual(values["name"], "name"),
        instructions=reader.bilingual(values["instructions"], "instructions"),
        criteria=tuple(criteria),
        source=source,
        text=text,
    )


def rubric_folders(workspace_root: Path | None) -> list[Path]:
    """Where rubric ids are looked up, the workspace's own folder first."""
    folders = [Path(workspace_root) / "rubrics"] if workspace_root is not None else []
    return [*folders, BUILTIN_RUBRICS]


def available_rubrics(workspace_root: Path | None = None) -> list[str]:
    """Ids of the rubrics that `load_rubric` finds by id, sorted."""
    found: Iterable[Path] = (
        path for folder in rubric_folders(workspace_root) for path in folder.glob("*.yaml")
    )
    return sorted({path.stem for path in found})


def load_rubric(reference: str | Path, workspace_root: Path | None = None) -> Rubric:
    """A rubric by id (see the module docstring) or by the path of its YAML file."""
    reference = str(reference)
    path = Path(reference)
    if not (path.suffix in (".yaml", ".yml") or path.is_file()):
        candidates = [folder / f"{reference}.yaml" for folder in rubric_folders(workspace_root)]
        path = next((candidate for candidate in candidates if candidate.is_file()), None)
        if path is None:
            known = available_rubrics(workspace_root)
            allowed = (
                f"a rubric id ({', '.join(known)}) or a YAML file.{did_you_mean(reference, known)}"
            )
            raise ConfigError("rubric", reference, allowed)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError("rubric", reference, f"a readable UTF-8 YAML file ({error})") from None
    return parse_rubric(text, str(path))
