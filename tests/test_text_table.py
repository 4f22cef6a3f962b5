"""Plain-text tables: widths in terminal columns, so Chinese and long names stay aligned."""

import pytest

from ftcore.text_table import display_width, format_text_table, pad


@pytest.mark.parametrize(
    "text, width",
    [
        ("base", 4),
        ("春节祝福", 8),  # Wide: two columns each
        ("ＡＢ", 4),  # Fullwidth Latin
        ("e\u0301", 1),  # a combining acute accent takes no column
        ("lora-春节", 9),
        ("", 0),
    ],
)
def test_display_width_counts_terminal_columns(text, width):
    assert display_width(text) == width


def test_pad_fills_to_display_width_on_either_side():
    assert pad("春节", 6) == "春节  "
    assert pad("春节", 6, "r") == "  春节"
    assert pad("toolong", 3) == "toolong"  # never cut


def test_table_columns_fit_the_widest_cell_and_lines_end_clean():
    table = format_text_table(
        ["model", "value", "note"],
        [["base", "0.5000", ""], ["春节祝福-lora", "12.2500", "x"]],
        "lrl",
    )
    assert table.splitlines() == [
        "model            value  note",
        "base            0.5000",
        "春节祝福-lora  12.2500  x",
    ]
    # Every line puts the value column's right edge at the same terminal column.
    lines = table.splitlines()
    edges = [display_width(line[: line.index(v) + len(v)]) for line, v in
             zip(lines, ["value", "0.5000", "12.2500"], strict=True)]  # fmt: skip
    assert edges == [22, 22, 22]


def test_a_row_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="2 cells"):
        format_text_table(["a", "b"], [["1"]], "ll")
