"""The Data and Train tabs through the launched app's API, as the browser calls them."""

import json
import shlex
import zipfile

import pytest

pytestmark = pytest.mark.slow

GREETINGS = "Spring Festival greetings (alpaca, 460 rows)"
DEFAULT_RULES = ["html", "control_chars", "emails", "urls", "whitespace"]


def prepare(client, files=None, samples=(), **changes):
    values = {
        "files": files or [],
        "samples": list(samples),
        "hub": "",
        "hub_split": "train",
        "info_path": "",
        "info_entry": None,
        "name": "",
        "tokenizer": "demo",
        "fmt": "auto",
        "columns": "",
        "split": "0.8,0.1,0.1",
        "stratify": "(none)",
        "seed": 42,
        "near_dup": 0.95,
        "exact_only": False,
        "rules": DEFAULT_RULES,
        "max_tokens": 2048,
        **changes,
    }
    return client.predict(*values.values(), api_name="/data_prepare")


@pytest.fixture(scope="module")
def client(app_server):
    from gradio_client import Client

    return Client(app_server["url"], verbose=False)


@pytest.fixture(scope="module")
def greetings_version(client):
    summary, rejects, _, _, splits, _, _, download, versions = prepare(
        client, samples=[GREETINGS], name="greetings", stratify="style"
    )
    return {
        "summary": summary,
        "rejects": rejects,
        "splits": splits,
        "download": download,
        "versions": versions,
    }


def test_data_tab_prepares_a_stratified_version(greetings_version):
    assert "rows read 460, rejected 0" in greetings_version["summary"]
    splits = greetings_version["splits"]
    assert [row[:2] for row in splits["data"]] == [["train", 368], ["val", 46], ["test", 46]]
    assert greetings_version["rejects"]["data"] == []
    newest = greetings_version["versions"]["data"][0]
    assert newest[:6] == ["greetings", 1, 368, 46, 46, 0]
    with zipfile.ZipFile(greetings_version["download"]) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert {"train.jsonl", "val.jsonl", "test.jsonl", "rejected.jsonl"} <= set(
            archive.namelist()
        )
    styles = manifest["splits"]["val"]["labels"]["style"]
    assert sorted(styles.values()) == [11, 11, 12, 12]  # stratified: 46 rows over 4 styles


def test_data_tab_lists_each_bad_row_and_keeps_the_good_ones(client, tmp_path):
    from gradio_client import handle_file

    good = {"instruction": "写一句祝福", "input": "", "output": "新年快乐！"}
    lines = [
        json.dumps(good, ensure_ascii=False),
        '{"instruction": "broken',
        json.dumps({**good, "instruction": "再写一句"}, ensure_ascii=False),
        json.dumps({"instruction": "没有回答", "input": ""}, ensure_ascii=False),
        json.dumps({**good, "instruction": "第三句", "output": "万事如意！"}, ensure_ascii=False),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary, rejects, *_ = prepare(client, files=[handle_file(str(path))], near_dup=0.99)
    assert "rows read 5, rejected 2" in summary
    assert [(row[0], row[1], row[2]) for row in rejects["data"]] == [
        ("mixed.jsonl", 2, None),
        ("mixed.jsonl", 4, "output"),
    ]


def test_train_tab_estimates_shows_config_and_runs_a_job(client, greetings_version, app_server):
    from ftcore.training.jobs import wait_for_run

    data = greetings_version["versions"]["data"][0][-1]
    values = {
        "base": "demo",
        "data": data,
        "method": "lora",
        "epochs": 1,
        "max_steps": 4,
        "learning_rate": 1e-3,
        "batch_size": 4,
        "grad_accum": 1,
        "max_length": 128,
        "lora_rank": 8,
        "lora_alpha": 16,
        "lora_dropout": 0.0,
        "eval_every": 2,
        "early_stopping_patience": 0,
        "early_stopping_min_delta": 0.0,
        "save_every": 2,
        "gradient_checkpointing": False,
        "precision": "auto",
        "group_by_length": False,
        "packing": False,
        "seed": 1,
        "name": "",
    }
    memory = client.predict(*values.values(), api_name="/train_memory")
    assert "GB peak" in memory and "24 GB ✓" in memory
    config_yaml, command = client.predict(*values.values(), api_name="/train_config")
    assert "max_steps: 4" in config_yaml.splitlines()
    # Every setting has a flag: the command reproduces the run without a config file.
    assert command == shlex.join(
        ["ftcore", "train", "--base", "demo", "--data", data, "--rank", "8"]
        + ["--lora-alpha", "16", "--epochs", "1", "--max-steps", "4", "--lr", "0.001"]
        + ["--batch-size", "4", "--max-length", "128"]
        + ["--seed", "1", "--eval-every", "2", "--save-every", "2"]
        + ["--home", str(app_server["home"])]
    )

    # The handler updates the run list, so the API answers with that update.
    update = client.predict(*values.values(), api_name="/train_start")
    run_dir = update["value"]
    assert [run_dir] == [value for _, value in update["choices"]]
    status = wait_for_run(run_dir, timeout_s=240)
    assert (status.state, status.step) == ("completed", 4)
    assert status.best_val_loss is not None
    assert str(app_server["home"]) in run_dir  # the run lives in the app's workspace


def test_data_tab_previews_rows_as_written_and_as_imported(client):
    info, table = client.predict(
        [], [GREETINGS], "", "train", "", None, "auto", "", api_name="/data_preview"
    )
    assert "JSONL · encoding utf-8 · format **alpaca**" in info
    assert table["headers"] == ["line", "status", "problem", "as imported", "labels", "as written"]
    first = dict(zip(table["headers"], table["data"][0], strict=True))
    assert first["line"] == 1 and first["status"] == "ok"
    assert first["as written"].startswith('{"id": "greet-0001"')
    assert first["as imported"].startswith("[user] 帮我给外婆写一条春节祝福")
    assert "style=warm" in first["labels"]
    assert len(table["data"]) == 20


def test_evaluate_tab_compares_base_and_adapter_with_a_verdict(
    client, greetings_version, app_server
):
    data = greetings_version["versions"]["data"][0][-1]
    verdict, exam, scores, _, _, _, examples, download = client.predict(
        "demo",
        [str(app_server["adapter"])],
        data,
        ["train", "val"],
        True,
        12,
        16,
        8,
        api_name="/evaluate",
    )
    assert "adapter: **" in verdict
    assert any(
        label in verdict for label in ("healthy", "overfitting", "underfitting", "inconclusive")
    )
    assert [row[1] for row in exam["data"]] == [
        "in-domain (train sample)",
        "generalisation",
        "general ability (probe)",
    ]
    # The table comes as an update: its column widths depend on the models compared.
    examples = examples.get("value", examples)
    assert {"base output", "adapter output", "reference"} <= set(examples["headers"])
    assert len(examples["data"]) == 12 + 12 + 12  # train sample, val, probe
    metrics = {(row[0], row[1], row[2]) for row in scores["data"]}
    assert ("adapter", "probe", "perplexity") in metrics and ("base", "val", "bleu") in metrics
    with zipfile.ZipFile(download) as archive:
        names = set(archive.namelist())
    assert {"scores.json", "overfit.json", "predictions.jsonl", "per_example.csv"} <= names
