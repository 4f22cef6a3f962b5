"""The ftcore command line: same replies as the library, clean one-line errors."""

import json
import logging
import shutil
import subprocess
import sys
from dataclasses import replace

import pytest

from ftcore import __version__, migrations
from ftcore.cli import main
from ftcore.runtime.generation import GenerationSettings, reply


def test_console_script_and_module_entry_points_run():
    for command in (["ftcore", "--version"], [sys.executable, "-m", "ftcore", "--version"]):
        if command[0] == "ftcore":
            command[0] = shutil.which("ftcore") or "ftcore"
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        assert result.stdout.strip() == f"ftcore {__version__}"


def test_chat_prints_the_same_reply_as_the_library(capsys, demo_chat_model):
    assert main(["chat", "--max-new-tokens", "10", "西红柿炒鸡蛋怎么做？"]) == 0
    expected = reply(
        demo_chat_model,
        [{"role": "user", "content": "西红柿炒鸡蛋怎么做？"}],
        replace(GenerationSettings.for_model(), max_new_tokens=10),  # the CLI's defaults
    )
    assert capsys.readouterr().out == expected + "\n"


def test_chat_with_adapter_uses_it(capsys, demo_chat_model, lora_adapter):
    assert main(["chat", "--adapter", str(lora_adapter), "--max-new-tokens", "10", "你好"]) == 0
    name = demo_chat_model.attach(lora_adapter)
    expected = reply(
        demo_chat_model,
        [{"role": "user", "content": "你好"}],
        replace(GenerationSettings.for_model(), max_new_tokens=10),  # the CLI's defaults
        adapter=name,
    )
    assert capsys.readouterr().out == expected + "\n"


def test_library_errors_become_one_line_and_exit_code_1(capsys):
    assert main(["chat", "--base", "./no/such/model", "你好"]) == 1
    err = capsys.readouterr().err
    assert err == "ftcore chat: error: model folder ./no/such/model does not exist\n"


def test_invalid_setting_names_the_field(capsys):
    assert main(["chat", "--temperature", "-1", "你好"]) == 1
    assert "temperature=-1.0 is not allowed" in capsys.readouterr().err


def test_info_reports_workspace_and_schema(capsys, tmp_path):
    assert main(["info", "--home", str(tmp_path / "ws")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["schema_version"] == len(migrations.MIGRATIONS)
    assert info["journal_mode"] == "wal"
    assert info["workspace"] == str((tmp_path / "ws").resolve())


def test_merge_writes_a_standalone_model(capsys, lora_adapter, tmp_path):
    assert main(["merge", "--adapter", str(lora_adapter), "--out", str(tmp_path / "m")]) == 0
    assert (tmp_path / "m" / "model.safetensors").is_file()
    assert (tmp_path / "m" / "tokenizer.json").is_file()
    assert not (tmp_path / "m" / "adapter_config.json").exists()


def test_eval_table_aligns_long_and_chinese_model_names():
    from ftcore.cli.eval_commands import format_eval_table

    scores = {
        "base": {"val": {"bleu": {"value": 1.5}, "perplexity": {"value": 1954.8142}}},
        "a_very_long_adapter_name_for_testing": {"val": {"rougeL": {"value": float("nan")}}},
        "春节祝福": {"train": {"chrf": {"value": 0.25}}},
    }
    assert format_eval_table(scores).splitlines() == [
        "model                                 split    bleu    chrf  rougeL  perplexity",
        "base                                  val    1.5000       -       -   1954.8142",
        "a_very_long_adapter_name_for_testing  val         -       -       -           -",
        "春节祝福                              train       -  0.2500       -           -",
    ]


def test_comparisons_table_aligns_long_model_names():
    from ftcore.metrics.comparisons import Comparison, format_comparisons

    rows = [
        Comparison("base", "a_very_long_adapter_name", "val", "rougeL", 0.0125, -0.01, 0.03,
                   8, 0.25, "paired"),
        Comparison("base", "短", "val", "exact_match", -0.5, None, None, 1, None, "paired"),
    ]  # fmt: skip
    assert format_comparisons(rows).splitlines() == [
        "model                     split  metric         delta  CI                      p  n",
        "a_very_long_adapter_name  val    rougeL       +0.0125  [-0.0100, 0.0300]  0.2500  8",
        "短                        val    exact_match  -0.5000  -                       -  1",
    ]


@pytest.fixture
def not_a_folder(tmp_path):
    """A path under a plain file: no folder can be made there."""
    (tmp_path / "file").write_text("x", "utf-8")
    return str(tmp_path / "file" / "out")


@pytest.mark.parametrize(
    "command, error",
    [
        (["score", "PREDICTIONS", "--out", "NOT_A_FOLDER"],
         "ftcore score: error: out='NOT_A_FOLDER' is not allowed: expected a folder that can be "
         "made (Not a directory)"),
        (["merge", "--adapter", "ADAPTER", "--out", "NOT_A_FOLDER"],
         "ftcore merge: error: out='NOT_A_FOLDER' is not allowed: expected a folder that can be "
         "made (Not a directory)"),
        (["eval", "--data", "DATA", "--out", "NOT_A_FOLDER", "--no-register"],
         "ftcore eval: error: out='NOT_A_FOLDER' is not allowed: expected a folder that can be "
         "made (Not a directory)"),
        (["train", "--data", "DATA", "--out", "NOT_A_FOLDER/run"],
         "ftcore train: error: out='NOT_A_FOLDER/run' is not allowed: expected a folder that can "
         "be made (Not a directory)"),
        (["train", "--config", "BAD_YAML"],
         "ftcore train: error: config='BAD_YAML' is not allowed: expected valid YAML (expected "
         "',' or ']', but got '<stream end>' at line 2, column 1)"),
        (["memory", "--base", "demo", "--target-gb", "0"],
         "ftcore memory: error: target_gb=0 is not allowed: expected a card size in GB, at "
         "least 1"),
        (["runs", "export", "no-such-run", "--out", "NOT_A_FOLDER", "--home", "HOME"],
         "ftcore runs: error: 'no-such-run' is neither a run folder nor a run in HOME/runs."),
    ],
)  # fmt: skip
def test_user_mistakes_are_one_line_naming_the_thing(command, error, tmp_path, capsys,
                                                     not_a_folder):  # fmt: skip
    """Issue 13: an output folder that cannot be made, or a broken YAML file, printed a
    traceback (or several lines); none of these loads a model first."""
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n", "utf-8")
    (tmp_path / "preds.jsonl").write_text('{"prediction": "a", "reference": "a"}\n', "utf-8")
    names = {
        "NOT_A_FOLDER": not_a_folder,
        "BAD_YAML": str(tmp_path / "bad.yaml"),
        "PREDICTIONS": str(tmp_path / "preds.jsonl"),
        "ADAPTER": str(tmp_path / "adapter"),
        "DATA": str(tmp_path / "data"),
        "HOME": str(tmp_path / "home"),
    }

    def filled(text: str) -> str:
        for name, value in names.items():
            text = text.replace(name, value)
        return text

    assert main([filled(part) for part in command]) == 1
    assert capsys.readouterr().err == filled(error) + "\n"


def test_huggingface_hub_warnings_are_printed_once(tmp_path, capsys):
    # Its own handler prints them; passed on to the root logger too, each showed twice.
    assert main(["info", "--home", str(tmp_path / "ws")]) == 0
    assert logging.getLogger("huggingface_hub").propagate is False
