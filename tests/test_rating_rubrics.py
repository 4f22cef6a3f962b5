"""Rubrics: the shipped ones, and errors that name the file, the line and the field."""

from __future__ import annotations

import pytest

from ftcore.errors import ConfigError, RubricError
from ftcore.rating.rubrics import (
    BUILTIN_RUBRICS,
    available_rubrics,
    load_rubric,
    parse_rubric,
    rubric_from_json,
)

# A valid two-point rubric; line numbers below are counted by hand from this text.
VALID = """\
id: tiny
version: 1
name: {zh: 小, en: Tiny}
instructions:
  zh: 比较两条回复。
  en: Compare the two responses.
criteria:
  - id: clarity
    name: {zh: 清晰, en: Clarity}
    description: {zh: 是否清楚, en: Is it clear}
    scale:
      1: {zh: 不清楚, en: Unclear}
      2: {zh: 清楚, en: Clear}
"""


def test_the_greeting_rubric_has_the_four_criteria_each_anchored_1_to_5():
    rubric = load_rubric("greeting")
    assert rubric.criterion_ids == ["completeness", "fluency", "style_fit", "sincerity"]
    for criterion in rubric.criteria:
        assert list(criterion.scale) == [1, 2, 3, 4, 5]
        for anchor in [criterion.name, criterion.description, *criterion.scale.values()]:
            assert set(anchor) == {"zh", "en"} and all(anchor.values())
    completeness = rubric.criteria[0].description["zh"]
    assert all(part in completeness for part in ("称呼", "祝福语", "落款"))
    assert "tie" in rubric.instructions["en"] and "平手" in rubric.instructions["zh"]


def test_shipped_rubrics_are_found_by_id():
    assert available_rubrics() == ["greeting", "helpfulness"]
    assert sorted(p.stem for p in BUILTIN_RUBRICS.glob("*.yaml")) == available_rubrics()
    assert load_rubric("helpfulness").criterion_ids == ["helpfulness", "correctness", "clarity"]


def test_a_session_copy_round_trips_with_the_same_hash():
    rubric = load_rubric("greeting")
    copy = rubric_from_json(rubric.to_json())
    assert copy.to_json() == rubric.to_json() and copy.content_hash == rubric.content_hash


def test_comments_and_layout_do_not_change_the_hash():
    original = parse_rubric(VALID, "a.yaml").content_hash
    relaid = VALID.replace("name: {zh: 小, en: Tiny}", "name:\n  zh: 小\n  en: Tiny")
    assert parse_rubric("# a comment\n" + relaid, "b.yaml").content_hash == original
    assert parse_rubric(VALID.replace("Unclear", "Muddled"), "c.yaml").content_hash != original


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "problem"),
    [
        ("version: 1", "version: one", 2, "version", "expected an integer"),
        ("version: 1", "version: 0", 2, "version", "expected 1 or more"),
        ("id: tiny", "id: Tiny Rubric", 1, "id", "lowercase letters"),
        ("name: {zh: 小, en: Tiny}", "name: {zh: 小}", 3, "name.en", "missing"),
        ("name: {zh: 小, en: Tiny}", "nmae: {zh: 小, en: Tiny}", 3, "nmae", "Did you mean 'name'"),
        ("  en: Compare the two responses.", "  en: ''", 6, "instructions.en", "empty"),
        ("    name: {zh: 清晰, en: Clarity}\n", "", 8, "criteria[0].name", "missing"),
        ("  - id: clarity", "  - id: 7", 8, "criteria[0].id", "expected text"),
        ("      2: {zh: 清楚, en: Clear}", "      3: {zh: 清楚, en: Clear}", 12,
         "criteria[0].scale", "every point from 1 to N"),
        ("      2: {zh: 清楚, en: Clear}", "      1: {zh: 清楚, en: Clear}", 13,
         "criteria[0].scale.1", "given twice"),
        ("      2: {zh: 清楚, en: Clear}", "      2: {zh: 清楚}", 13, "criteria[0].scale.2.en",
         "missing"),
        ("      2: {zh: 清楚, en: Clear}", "      two: {zh: 清楚, en: Clear}", 13,
         "criteria[0].scale.two", "expected an integer"),
        ("id: tiny\n", "id: tiny\nid: other\n", 2, "id", "given twice"),
        (VALID[VALID.index("criteria:") :], "criteria: []\n", 7, "criteria", "non-empty list"),
        ("    scale:", "    scale: [", 13, "(file)", "flow sequence started on line 11"),
    ],
)  # fmt: skip
def test_rubric_errors_name_file_line_and_field(old, new, line, field, problem):
    assert old in VALID
    with pytest.raises(RubricError) as error:
        parse_rubric(VALID.replace(old, new), "rubrics/tiny.yaml")
    assert (error.value.file, error.value.line, error.value.field) == (
        "rubrics/tiny.yaml",
        line,
        field,
    )
    assert problem in error.value.problem
    assert str(error.value).startswith(f"rubrics/tiny.yaml:{line}: field {field!r}: ")


def test_a_criterion_given_twice_is_refused_at_its_line():
    text = VALID + VALID[VALID.index("  - id: clarity") :]
    with pytest.raises(RubricError) as error:
        parse_rubric(text, "r.yaml")
    assert (error.value.line, error.value.field) == (14, "criteria[1].id")


def test_an_empty_file_is_refused():
    with pytest.raises(RubricError, match="r.yaml:1: field '\\(file\\)': empty"):
        parse_rubric("", "r.yaml")


def test_load_by_path_and_the_workspace_folder_first(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(VALID, "utf-8")
    assert load_rubric(path).source == str(path)
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "rubrics" / "greeting.yaml").write_text(VALID, "utf-8")
    assert load_rubric("greeting", tmp_path).id == "tiny"  # the user's own file wins
    assert available_rubrics(tmp_path) == ["greeting", "helpfulness"]


def test_an_unknown_rubric_id_suggests_a_known_one():
    with pytest.raises(ConfigError, match="rubric='greting'.*Did you mean 'greeting'"):
        load_rubric("greting")
