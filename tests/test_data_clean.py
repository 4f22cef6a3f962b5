"""Cleaning: NFC that keeps Chinese punctuation, each rule's effect and its count."""

import unicodedata

import pytest

from ftcore.data.clean import Cleaner, CleaningSettings, normalise_text
from ftcore.errors import ConfigError

ALL_OFF = CleaningSettings(html=False, control_chars=False, whitespace=False)


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
    cleaner = Cleaner(CleaningSettings(urls=True))
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


def test_defaults_never_delete_words_only_markup():
    defaults = CleaningSettings()
    assert (defaults.html, defaults.control_chars, defaults.whitespace) == (True, True, True)
    assert not any((defaults.urls, defaults.emails, defaults.mask_emails, defaults.mask_phones))


def test_rules_are_switched_by_name_with_a_did_you_mean():
    settings = CleaningSettings().with_rules(on=["urls"], off=["html"])
    assert settings.urls and not settings.html
    with pytest.raises(ConfigError, match="Did you mean 'urls'"):
        CleaningSettings().with_rules(on=["url"])
