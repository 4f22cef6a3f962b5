"""The ftcore command line: same replies as the library, clean one-line errors."""

import json
import shutil
import subprocess
import sys

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
        GenerationSettings(max_new_tokens=10),
    )
    assert capsys.readouterr().out == expected + "\n"


def test_chat_with_adapter_uses_it(capsys, demo_chat_model, lora_adapter):
    assert main(["chat", "--adapter", str(lora_adapter), "--max-new-tokens", "10", "你好"]) == 0
    name = demo_chat_model.attach(lora_adapter)
    expected = reply(
        demo_chat_model,
        [{"role": "user", "content": "你好"}],
        GenerationSettings(max_new_tokens=10),
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
