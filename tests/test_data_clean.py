"""Cleaning: NFC that keeps Chinese punctuation, each rule's effect and its count."""

import json
import unicodedata
from dataclasses import fields

import pytest

from ftcore.data.clean import Cleaner, CleaningSettings, normalise_text
from ftcore.data.prepare import prepare_dataset
from ftcore.data.settings import PrepareSettings
from ftcore.data.versions import load_rejects, load_split
from ftcore.errors import ConfigError

ALL_OFF = CleaningSettings(**{f.name: False for f in fields(CleaningSettings)})


def clean(text, **rules):
    cleaner = Cleaner(CleaningSettings(**{**ALL_OFF.__dict__, **rules}))
    [message] = cleaner.clean_messages([{"role": "user", "content": text}])
    return message["content"], cleaner.report


@pytest.mark.parametrize(
    "text",
    [
        "奶奶，新年好！祝您福寿安康。",  # full-width comma, exclamation mark, full stop
        "全角字母ＡＢＣ和数字１２３",
        "「引号」与『书名号』、顿号；分号：冒号？",
        "　　段落开头的全角空格",  # U+3000 indents Chinese paragraphs
        "半角ｶﾀｶﾅ and ﬁ ligature and ²",  # what NFKC would fold
    ],
)
def test_normalisation_keeps_full_width_and_compatibility_characters(text):
    assert normalise_text(text) == text
    assert clean(text, whitespace=True, html=True, control_chars=True)[0] == text.strip(" ")
    assert unicodedata.normalize("NFKC", text) != text  # the trap this avoids


def test_normalisation_composes_accents_and_unifies_line_breaks():
    assert normalise_text("Cafe\u0301\r\nline\rnext\u2028end") == "Café\nline\nnext\nend"


@pytest.mark.parametrize(
    ("rules", "text", "expected", "matches"),
    [
        ({"html": True}, "<p>新年<b>快乐</b></p><!-- x -->", "新年快乐", 5),
        ({"html": True}, "Tom &amp; Jerry<br/>", "Tom & Jerry", 2),
        ({"html": True}, "1 < 2 and 3 > 2", "1 < 2 and 3 > 2", 0),  # not tags
        ({"control_chars": True}, "新\x00年\u200b好\x07\tok\n", "新年好\tok\n", 3),
        ({"urls": True}, "详情见https://example.com/a?b=1了解", "详情见了解", 1),
        ({"urls": True}, "See www.example.org/x. Thanks", "See . Thanks", 1),
        ({"emails": True}, "写信到 wish@example.com 吧", "写信到  吧", 1),
        ({"mask_emails": True}, "mail a.b+c@mail.example.cn now", "mail [EMAIL] now", 1),
        ({"mask_phones": True}, "电话13812345678或+86 138 0013 8000", "电话[PHONE]或[PHONE]", 2),
        (
            {"mask_phones": True},
            "Call (555) 123-4567 or +44 20 7946 0958.",
            "Call [PHONE] or [PHONE].",
            2,
        ),
        (
            {"mask_phones": True},
            "座机010-12345678，订单号202401011234567",
            "座机[PHONE]，订单号202401011234567",
            1,
        ),
        # 4 runs of spaces or tabs, a space before a line break, blank lines, the trim
        ({"whitespace": True}, "  新年   快乐 \n\n\n\n万事\t\t如意  ", "新年 快乐\n\n万事 如意", 7),
    ],
)
def test_each_rule_changes_what_it_should_and_counts_it(rules, text, expected, matches):
    cleaned, report = clean(text, **rules)
    assert cleaned == expected
    [rule] = rules
    assert report.counts[rule].matches == matches
    assert report.counts[rule].rows == (1 if matches else 0)


def test_masking_an_email_comes_before_removing_it():
    cleaned, report = clean("to a@b.cn", mask_emails=True, emails=True)
    assert cleaned == "to [EMAIL]"
    assert (report.counts["mask_emails"].matches, report.counts["emails"].matches) == (1, 0)


def test_report_counts_rows_once_per_rule_and_all_matches():
    cleaner = Cleaner(CleaningSettings(emails=False))
    conversation = [
        {"role": "user", "content": "看 http://a.cn 和 http://b.cn"},
        {"role": "assistant", "content": "好的 http://c.cn"},
    ]
    cleaner.clean_messages(conversation)
    cleaner.clean_messages([{"role": "user", "content": "没有链接"}])
    report = cleaner.report.to_json()
    assert report["urls"] == {"enabled": True, "rows": 1, "matches": 3}
    assert report["whitespace"]["rows"] == 1  # the spaces the removed links left behind
    assert report["emails"] == {"enabled": False, "rows": 0, "matches": 0}


def test_defaults_remove_html_urls_and_emails_as_the_guides_teach():
    defaults = CleaningSettings()
    on = [f.name for f in fields(defaults) if getattr(defaults, f.name)]
    assert on == ["html", "control_chars", "emails", "urls", "whitespace"]


@pytest.mark.parametrize(
    ("text", "expected", "counts"),
    [
        (  # a link written straight into Chinese: the Chinese on both sides stays
            "详情请见https://example.com/a?b=1了解更多，<b>祝您</b>新春快乐！",
            "详情请见了解更多，祝您新春快乐！",
            {"urls": 1, "html": 2},
        ),
        (
            "Write to wish@example.com or see <a href='x'>www.example.org/faq</a>.",
            "Write to or see .",
            {"emails": 1, "html": 2, "urls": 1, "whitespace": 1},
        ),
        (  # mixed: an address between hanzi, a link before a full-width comma
            "联系我lihua@mail.example.cn或访问http://a.cn/x，Happy New Year!",
            "联系我或访问，Happy New Year!",
            {"emails": 1, "urls": 1},
        ),
        ("没有链接也没有标签。", "没有链接也没有标签。", {}),
    ],
)
def test_the_default_rules_on_chinese_english_and_mixed_text(text, expected, counts):
    cleaner = Cleaner()
    [message] = cleaner.clean_messages([{"role": "user", "content": text}])
    assert message["content"] == expected
    changed = {name: c.matches for name, c in cleaner.report.counts.items() if c.matches}
    assert changed == counts


@pytest.mark.parametrize("rule", ["html", "urls", "emails"])
def test_each_default_rule_switches_off_on_its_own(rule):
    text = "<i>见</i> https://a.cn 或 a@b.cn"
    cleaner = Cleaner(CleaningSettings().with_rules(off=[rule]))
    [message] = cleaner.clean_messages([{"role": "user", "content": text}])
    kept = {"html": "<i>见</i> 或", "urls": "见 https://a.cn 或", "emails": "见 或 a@b.cn"}
    assert message["content"] == kept[rule]
    assert cleaner.report.to_json()[rule] == {"enabled": False, "rows": 0, "matches": 0}


def quality(reply, prompt="写一句春节祝福"):
    """The low-quality filter on one exchange: None, or (field, reason)."""
    cleaner = Cleaner(CleaningSettings(low_quality=True))
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]
    try:
        cleaner.check_quality(messages, ["instruction", "output"])
    except Exception as problem:  # RowProblem, checked by the caller's assertions
        return problem.code, problem.field, problem.reason
    return None


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("新年快乐", None),  # four hanzi are enough
        ("好", "the reply is 1 characters long without spaces, under 4"),
        ("O K", "the reply is 2 characters long without spaces, under 4"),
        ("新年年年年年年年年好", "'年' 8 times in a row"),
        ("Sooooooo happy", "'o' 7 times in a row"),
        ("哈哈哈哈哈 and 1000000 yuan", None),  # five is not six; digits are numbers
        ("新年快乐\ufffd", "U+FFFD, the mark of bytes lost when the text was decoded"),
        # 新年快乐 as GBK bytes read as Latin-1, and as UTF-8 bytes read as Windows-1252
        ("祝你ÐÂÄê¿ìÀÖ", "mojibake 'ÐÂÄê¿ìÀÖ': text decoded with the wrong encoding"),
        ("祝你æ–°å¹´快乐", "mojibake 'æ–°å¹´': text decoded with the wrong encoding"),
        ("Größe, café, naïve, ¿Qué?", None),  # real Latin-1 letters in real words
    ],
)
def test_the_low_quality_filter_names_what_is_wrong(reply, expected):
    assert "新年快乐".encode("gbk").decode("latin-1") == "ÐÂÄê¿ìÀÖ"
    found = quality(reply)
    if expected is not None:
        expected = ("low_quality", "output", f"low quality: {expected}")
    assert found == expected


def test_a_short_prompt_is_not_low_quality_and_every_problem_is_listed():
    assert quality("新春快乐，万事如意", prompt="hi") is None
    _, field, reason = quality("年年年年年年", prompt="\ufffd")
    assert field == "instruction"
    assert reason == (
        "low quality: U+FFFD, the mark of bytes lost when the text was decoded; "
        "output: '年' 6 times in a row"
    )


def test_prepare_counts_each_rule_and_rejects_low_quality_rows_with_their_line(tmp_path):
    rows = [
        {"instruction": "给老师写祝福", "output": "祝老师新春快乐！详见https://a.cn"},
        {"instruction": "Email <b>me</b>", "output": "Happy New Year, write to a@b.cn"},
        {"instruction": "给同事写祝福", "output": "好"},
        {"instruction": "给朋友写祝福", "output": "新年年年年年年年年年"},
        {"instruction": "给外婆写祝福", "output": "祝外婆ÐÂÄê¿ìÀÖ"},
        {"instruction": "给爸爸写祝福", "output": "祝爸爸身体健康，万事如意"},
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    settings = PrepareSettings(cleaning=CleaningSettings(low_quality=True), near_dup=None)
    result = prepare_dataset([path], tmp_path / "v", settings)
    counts = {k: v for k, v in result.manifest["cleaning"].items() if v["rows"]}
    assert counts == {
        "html": {"enabled": True, "rows": 1, "matches": 2},
        "emails": {"enabled": True, "rows": 1, "matches": 1},
        "urls": {"enabled": True, "rows": 1, "matches": 1},
        "whitespace": {"enabled": True, "rows": 1, "matches": 1},  # "write to " lost its end
        "too_short": {"enabled": True, "rows": 1, "matches": 1},
        "repeated_chars": {"enabled": True, "rows": 1, "matches": 1},
        "mojibake": {"enabled": True, "rows": 1, "matches": 1},
    }
    assert result.manifest["rejects_by_reason"] == {"low_quality": 3}
    assert [(r.line, r.field) for r in load_rejects(result.path)] == [
        (3, "output"),
        (4, "output"),
        (5, "output"),
    ]
    assert (result.counts["valid"], result.counts["cleaned"], result.counts["kept"]) == (6, 3, 3)
    kept = sorted(
        m["content"]
        for split in ("train", "val", "test")
        for r in load_split(result.path, split, allow_test=True)
        for m in r.messages
    )
    assert "Happy New Year, write to" in kept and "祝老师新春快乐！详见" in kept
    assert "rows changed by cleaning: html 1, emails 1, urls 1, whitespace 1" in result.summary()


def test_rules_are_switched_by_name_with_a_did_you_mean():
    settings = CleaningSettings().with_rules(on=["urls"], off=["html"])
    assert settings.urls and not settings.html
    with pytest.raises(ConfigError, match="Did you mean 'urls'"):
        CleaningSettings().with_rules(on=["url"])
