"""Splitting: ratios, stratified proportions, seeds, clusters kept whole, leakage."""

import json
from collections import Counter

import numpy as np
import pytest

from ftcore.data.prepare import prepare_dataset
from ftcore.data.settings import PrepareSettings, parse_ratios
from ftcore.data.split import assign_splits, find_leaks
from ftcore.data.versions import load_split
from ftcore.errors import ConfigError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.8,0.1,0.1", (0.8, 0.1, 0.1)),
        ("8:1:1", (0.8, 0.1, 0.1)),
        ("70 20 10", (0.7, 0.2, 0.1)),
        ((0.9, 0.1, 0), (0.9, 0.1, 0.0)),
    ],
)
def test_ratios_are_parsed_and_normalised(value, expected):
    assert parse_ratios(value) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["0.8,0.2", "a,b,c", "0.8,-0.1,0.3", "0,0.5,0.5", "nan,1,1"])
def test_bad_ratios_name_the_field(value):
    with pytest.raises(ConfigError, match="split="):
        parse_ratios(value)


def split_counts(split_of, strata=None):
    if strata is None:
        return Counter(split_of.tolist())
    return Counter(zip(strata, split_of.tolist(), strict=True))


def test_stratified_split_keeps_every_label_in_proportion():
    strata = [
        style for style in ("warm", "humorous", "literary", "traditional") for _ in range(115)
    ]
    split_of = assign_splits(np.arange(460), strata, (0.8, 0.1, 0.1), seed=7)
    assert split_counts(split_of) == {0: 368, 1: 46, 2: 46}
    per_label = split_counts(split_of, strata)
    for style in set(strata):
        assert per_label[(style, 0)] == 92
        assert {per_label[(style, 1)], per_label[(style, 2)]} <= {11, 12}


def test_many_small_labels_still_add_up_to_the_overall_ratios():
    strata = [f"label{i // 3}" for i in range(90)]  # 30 labels of 3 rows: 2.4 / 0.3 / 0.3 each
    split_of = assign_splits(np.arange(90), strata, (0.8, 0.1, 0.1), seed=1)
    assert split_counts(split_of) == {0: 72, 1: 9, 2: 9}


def test_same_seed_same_split_other_seed_other_split():
    strata = ["a", "b"] * 50
    first = assign_splits(np.arange(100), strata, seed=3)
    assert np.array_equal(first, assign_splits(np.arange(100), strata, seed=3))
    assert not np.array_equal(first, assign_splits(np.arange(100), strata, seed=4))


def test_a_new_row_of_one_label_leaves_the_other_labels_where_they_were():
    strata = ["a"] * 20 + ["b"] * 20
    before = assign_splits(np.arange(40), strata, seed=5)
    after = assign_splits(np.arange(41), [*strata, "a"], seed=5)
    assert np.array_equal(before[20:40], after[20:40])


def test_rows_of_one_group_share_a_split():
    groups = np.repeat(np.arange(0, 100, 5), 5)  # 20 groups of five rows, named by first row
    split_of = assign_splits(groups, ["x"] * 100, (0.6, 0.2, 0.2), seed=2)
    for start in range(0, 100, 5):
        assert len(set(split_of[start : start + 5].tolist())) == 1
    assert split_counts(split_of) == {0: 60, 1: 20, 2: 20}


def test_a_zero_share_gets_no_rows():
    split_of = assign_splits(np.arange(10), [""] * 10, (0.9, 0.1, 0.0))
    assert split_counts(split_of) == {0: 9, 1: 1}


def test_leak_check_finds_pairs_that_cross_splits():
    texts = ["新年快乐，万事如意，身体健康，阖家幸福！" * 3, "完全不同的祝福", "另一句话"]
    texts.append(texts[0].replace("！", "!"))  # a near copy of row 0
    exact_keys = np.array([1, 2, 3, 4, 2], dtype=np.uint64)  # row 4 is an exact copy of row 1
    texts.append(texts[1])
    from ftcore.data.minhash import MinHasher

    hashes = MinHasher(0.95).hashes(texts)
    split_of = np.array([0, 0, 1, 2, 1], dtype=np.int8)
    leaks = find_leaks(split_of, exact_keys, hashes, texts.__getitem__)
    assert [(leak.first, leak.second, leak.splits) for leak in leaks] == [
        (0, 3, ("train", "test")),
        (1, 4, ("train", "val")),
    ]
    together = np.array([0, 0, 1, 0, 0], dtype=np.int8)
    assert find_leaks(together, exact_keys, hashes, texts.__getitem__) == []


def write_rows(path, rows):
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )


def test_kept_near_duplicates_land_in_one_split_and_no_pair_leaks(tmp_path):
    rows = []
    for i in range(60):
        reply = f"第{i}号朋友，新年快乐！祝你在新的一年里身体健康、工作顺利、万事如意、阖家幸福。"
        rows.append({"id": f"r{i}", "instruction": "写一句新年祝福", "output": reply})
        if i % 3 == 0:  # a near copy with half-width punctuation
            rows.append(
                {
                    "id": f"r{i}-copy",
                    "instruction": "写一句新年祝福",
                    "output": reply.replace("，", ","),
                }
            )
    write_rows(tmp_path / "rows.jsonl", rows)
    settings = PrepareSettings(drop_near_dups=False, seed=11)
    result = prepare_dataset([tmp_path / "rows.jsonl"], tmp_path / "out", settings)

    assert result.counts["kept"] == 80 and result.counts["near_duplicates"] == 0
    assert result.manifest["duplicates"]["clusters"] == 20
    where = {}
    for split in ("train", "val", "test"):
        for record in load_split(result.path, split, allow_test=True):
            where[record.id] = split
    for i in range(0, 60, 3):
        assert where[f"r{i}"] == where[f"r{i}-copy"]
    assert result.manifest["leakage"]["pairs"] == 0


def test_dropped_near_duplicates_are_listed_with_the_row_kept(tmp_path):
    reply = "Happy New Year! Wishing you health, luck and many happy reunions with your family."
    rows = [
        {"id": "a", "instruction": "Greet my aunt", "output": reply},
        {"id": "b", "instruction": "Greet my uncle", "output": "Happy New Year, uncle!"},
        {"id": "c", "instruction": "greet my aunt", "output": reply.upper()},
    ]
    write_rows(tmp_path / "rows.jsonl", rows)
    result = prepare_dataset([tmp_path / "rows.jsonl"], tmp_path / "out")
    [cluster] = result.clusters
    assert cluster["kept"]["id"] == "a"
    assert [(m["id"], m["kind"], m["dropped"]) for m in cluster["members"]] == [
        ("c", "exact", True)
    ]
    assert result.counts["exact_duplicates"] == 1 and result.counts["kept"] == 2
    written = (result.path / "duplicates.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in written] == result.clusters
