"""The rater page's words in Chinese and English, and which language a browser asks for.

Rubric texts (criteria, anchors, instructions) come from the session in both languages;
these are the page's own labels around them. Every key exists in both languages (a test
checks), so switching language never leaves a label in the other one.
"""

from __future__ import annotations

LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh"  # the sample task and its raters are Chinese

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "盲评：两个回答哪个更好？",
        "intro": (
            "你会看到一个题目和两个回答。两个回答来自不同的系统，左右顺序随机，名字都已隐藏。"
            "请先按评分标准给两个回答逐项打 1–5 分，再选出总体更好的一个。"
        ),
        "code": "评测码",
        "code_info": "链接里已经带上的话就不用改",
        "name": "你的名字（可不填）",
        "join": "开始评分",
        "progress": "已评 {done} / {total} 条",
        "instructions": "评分说明",
        "prompt": "题目",
        "response_a": "回答 A",
        "response_b": "回答 B",
        "scale": "1–5 分的含义",
        "choice": "总体来说，哪个回答更好？",
        "choice_A": "A 更好",
        "choice_B": "B 更好",
        "choice_tie": "差不多",
        "choice_both_bad": "都不好",
        "comment": "备注（可不填）",
        "submit": "提交，下一条",
        "shortcuts": "快捷键：A / B 选更好的一边，T 差不多，X 都不好；Ctrl+Enter 提交。",
        "missing_scores": "请先给两个回答的每一项都打分，还缺：{missing}。",
        "missing_choice": "请选择：A 更好、B 更好、差不多或都不好。",
        "thanks_title": "谢谢你！",
        "thanks_finished": "这一轮的 {total} 条你都评完了，可以关闭页面了。",
        "thanks_items_full": (
            "你评了 {done} 条。剩下的条目暂时都有人在评了，过几分钟再打开这个链接看看。"
        ),
        "thanks_closed": "这一轮评测已经结束，不再接受评分。你评了 {done} 条，谢谢参与。",
        "language": "语言 / Language",
    },
    "en": {
        "title": "Blind rating: which response is better?",
        "intro": (
            "You will see a prompt and two responses. They come from different systems, in "
            "random order, with their names hidden. Score both responses from 1 to 5 on every "
            "criterion of the rubric, then choose the better one overall."
        ),
        "code": "Session code",
        "code_info": "already filled in when your link carries it",
        "name": "Your name (optional)",
        "join": "Start rating",
        "progress": "Rated {done} of {total}",
        "instructions": "Instructions",
        "prompt": "Prompt",
        "response_a": "Response A",
        "response_b": "Response B",
        "scale": "What 1–5 mean",
        "choice": "Which response is better overall?",
        "choice_A": "A is better",
        "choice_B": "B is better",
        "choice_tie": "About the same",
        "choice_both_bad": "Both are bad",
        "comment": "Comment (optional)",
        "submit": "Submit and next",
        "shortcuts": "Keys: A / B pick the better side, T a tie, X both bad; Ctrl+Enter submits.",
        "missing_scores": "Score every criterion for both responses first; missing: {missing}.",
        "missing_choice": "Choose A is better, B is better, about the same, or both are bad.",
        "thanks_title": "Thank you!",
        "thanks_finished": "You rated all {total} items of this session. You can close this page.",
        "thanks_items_full": (
            "You rated {done}. Every item left is being rated by someone else right now: "
            "open this link again in a few minutes."
        ),
        "thanks_closed": "This session is closed and takes no more votes. You rated {done}.",
        "language": "Language / 语言",
    },
}


def text(lang: str, key: str, **values: object) -> str:
    """The page text `key` in `lang` (unknown languages fall back to the default)."""
    words = TEXTS.get(lang, TEXTS[DEFAULT_LANGUAGE])[key]
    return words.format(**values) if values else words


def localized(value: dict | str, lang: str) -> str:
    """A rubric text given as {"zh": …, "en": …} (or one plain string) in `lang`, falling
    back to the other language rather than showing nothing."""
    if isinstance(value, str):
        return value
    return value.get(lang) or next((v for v in value.values() if v), "")


def browser_language(accept_language: str | None) -> str:
    """The page language for an Accept-Language header: the first of zh / en the browser
    lists, else the default (Chinese)."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        for lang in LANGUAGES:
            if tag == lang or tag.startswith(f"{lang}-"):
                return lang
    return DEFAULT_LANGUAGE
