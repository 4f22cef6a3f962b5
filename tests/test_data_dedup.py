"""Duplicates: exact and near, in Chinese and English, clusters and which row is kept."""

import numpy as np
import pytest

from ftcore.data.dedup import exact_key, find_duplicates
from ftcore.data.minhash import (
    NUM_PERM,
    TARGET_RECALL,
    MinHasher,
    candidate_pairs,
    comparable_text,
    estimated_similarity,
    jaccard,
    likely_pairs,
    lsh_bands,
    shingles,
)

LONG_ZH = "奶奶，新年好！祝您身体健康，福寿安康，天天开心。我们都很想您，过年一定回家陪您吃团圆饭。"
LONG_EN = (
    "Happy New Year! Wishing you a prosperous and healthy year ahead, full of success and joy."
)


def chat(user, reply, system=None):
    messages = [{"role": "system", "content": system}] if system else []
    return [*messages, {"role": "user", "content": user}, {"role": "assistant", "content": reply}]


def similarity(a, b):
    return jaccard(shingles(a), shingles(b))


def test_jaccard_of_character_trigrams_by_hand():
    # "新年好快乐" → 新年好 年好快 好快乐; "新年好开心" → 新年好 年好开 好开心: 1 shared of 5
    assert similarity("新年好快乐", "新年好开心") == pytest.approx(1 / 5)
    assert similarity("abcd", "abcd") == 1.0
    assert similarity("ab", "ab") == 1.0  # shorter than one n-gram


def test_comparison_ignores_case_punctuation_and_spacing_in_both_scripts():
    assert comparable_text("Happy New-Year!! 新年，快乐！") == "happynewyear新年快乐"
    assert comparable_text("!!!") == "!!!"  # nothing but punctuation is compared as written


@pytest.mark.parametrize(
    ("a", "b", "near"),
    [
        (LONG_ZH, LONG_ZH.replace("，", ",").replace("！", "!"), True),  # half-width copy
        (LONG_ZH, LONG_ZH.replace("团圆饭", "团圆饭呀"), True),  # one character added
        (LONG_ZH, LONG_ZH.replace("团圆饭", "年夜饭"), False),  # a different dish
        ("爷爷，过年好！", "奶奶，过年好！", False),  # short texts differ by a word
        (LONG_EN, LONG_EN.upper().replace(",", ""), True),
        (LONG_EN, LONG_EN.replace("success", "sucess"), True),  # one typo in a long text
        (LONG_EN[:60], LONG_EN[:60].replace("healthy", "helthy"), False),  # in a short one
        (LONG_EN, "Happy New Year! May your year be calm and your family well.", False),
    ],
)
def test_near_duplicates_at_the_default_threshold(a, b, near):
    duplicates = find_duplicates([chat("写祝福", a), chat("写祝福", b)])
    assert duplicates.dropped.tolist() == [False, near]
    assert (similarity("写祝福\n" + a, "写祝福\n" + b) >= 0.95) == near


def test_clusters_list_kept_row_members_kind_and_similarity():
    conversations = [
        chat("Greet my boss", LONG_EN),  # 0 kept
        chat("Greet my grandma", LONG_ZH),  # 1 kept
        chat("greet my  boss", LONG_EN),  # 2 exact copy of 0 once case and spaces are folded
        chat("Greet my boss!", LONG_EN.replace(",", "")),  # 3 near copy of 0
        chat("Greet my grandma", LONG_ZH),  # 4 exact copy of 1
        chat("Greet my teacher", "Happy New Year, teacher!"),  # 5 alone
    ]
    duplicates = find_duplicates(conversations)
    assert duplicates.group.tolist() == [0, 1, 0, 0, 1, 5]
    assert duplicates.dropped.tolist() == [False, False, True, True, True, False]
    assert (duplicates.exact_dropped, duplicates.near_dropped) == (2, 1)
    [first, second] = duplicates.clusters
    assert first.kept == 0
    assert [(m.row, m.kind, m.similarity, m.dropped) for m in first.members] == [
        (2, "exact", 1.0, True),
        (3, "near", 1.0, True),
    ]
    assert (second.kept, [(m.row, m.kind) for m in second.members]) == (1, [(4, "exact")])


def test_keeping_duplicates_still_clusters_them():
    conversations = [chat("q", LONG_EN), chat("q", LONG_EN), chat("q", LONG_EN + "!")]
    duplicates = find_duplicates(conversations, drop_exact=False, drop_near=False)
    assert duplicates.dropped.tolist() == [False, False, False]
    assert duplicates.group.tolist() == [0, 0, 0]


def test_similarity_chains_into_one_cluster():
    base = "".join(chr(0x4E00 + 7 * i) for i in range(100))  # 100 different characters
    step1 = base[:30] + "好" + base[31:]
    step2 = step1[:70] + "好" + step1[71:]
    direct, chained = (
        similarity(base, step2),
        min(similarity(base, step1), similarity(step1, step2)),
    )
    assert direct < chained
    threshold = (direct + chained) / 2  # base ~ step1 ~ step2, but base !~ step2
    texts = [chat("q", base), chat("q", step1), chat("q", step2)]
    duplicates = find_duplicates(texts, threshold=threshold)
    assert duplicates.group.tolist() == [0, 0, 0]
    assert [m.similarity for m in duplicates.clusters[0].members][1] < threshold


def test_a_shared_system_prompt_does_not_make_rows_alike():
    system = "You are a helpful assistant who writes warm Spring Festival greetings. " * 20
    conversations = [
        chat("Greet my boss", "Happy New Year, boss!", system),
        chat("Greet my aunt", "新年好，姑姑！", system),
    ]
    assert not find_duplicates(conversations).dropped.any()
    assert exact_key(conversations[0]) != exact_key(conversations[1])


def test_exact_key_folds_case_and_spacing_but_not_roles_or_words():
    assert exact_key(chat("Hi  there", "OK")) == exact_key(chat("hi there ", "ok"))
    assert exact_key(chat("Hi", "OK")) != exact_key(chat("Hi", "OK!"))
    assert exact_key(chat("Hi", "OK", system="S")) != exact_key(chat("Hi", "OK"))


def test_threshold_none_finds_exact_duplicates_only():
    conversations = [chat("q", LONG_EN), chat("q", LONG_EN + "!"), chat("q", LONG_EN)]
    duplicates = find_duplicates(conversations, threshold=None)
    assert duplicates.dropped.tolist() == [False, False, True]


def test_lsh_bands_meet_the_recall_target_at_the_threshold():
    for threshold in (0.5, 0.8, 0.9, 0.95, 0.99):
        bands, rows = lsh_bands(threshold)
        assert 1 - (1 - threshold**rows) ** bands >= TARGET_RECALL
        # and one more row per band would not
        more_rows = rows + 1
        assert 1 - (1 - threshold**more_rows) ** (NUM_PERM // more_rows) < TARGET_RECALL


def test_hashes_are_deterministic_and_propose_similar_pairs():
    texts = [LONG_EN, LONG_EN.replace("joy", "Joy!"), LONG_ZH, "完全不同的一句话，毫无关系。"]
    hashes = MinHasher(0.95).hashes(texts)
    again = MinHasher(0.95).hashes(texts)
    assert np.array_equal(hashes.band_keys, again.band_keys)
    assert np.array_equal(hashes.sketches, again.sketches)
    assert candidate_pairs(hashes.band_keys).tolist() == [[0, 1]]
    assert likely_pairs(hashes, 0.95).tolist() == [[0, 1]]


def test_buckets_give_all_pairs_when_small_and_star_and_chain_when_large():
    keys = np.array([[5], [7], [5], [5], [9]], dtype=np.uint64)
    assert candidate_pairs(keys).tolist() == [[0, 2], [0, 3], [2, 3]]
    assert candidate_pairs(keys, np.array([0, 1, 3])).tolist() == [[0, 3]]
    large = np.zeros((12, 1), dtype=np.uint64)  # one bucket of 12 rows
    pairs = {tuple(p) for p in candidate_pairs(large).tolist()}
    assert pairs == {(0, j) for j in range(1, 12)} | {(j, j + 1) for j in range(1, 11)}


def test_sketch_estimate_separates_unrelated_from_similar_texts():
    texts = [LONG_ZH, LONG_ZH.replace("，", ","), LONG_EN, "Completely unrelated words here"]
    hashes = MinHasher(0.95).hashes(texts)
    estimate = estimated_similarity(hashes.sketches, np.array([[0, 1], [0, 2], [2, 3]]))
    assert estimate[0] == pytest.approx(1.0)
    assert estimate[1] < 0.3 and estimate[2] < 0.3


def test_settings_default_n_gram_is_the_one_similarity_is_defined_with():
    from ftcore.data.minhash import NGRAM
    from ftcore.data.settings import PrepareSettings

    assert PrepareSettings().ngram == NGRAM
