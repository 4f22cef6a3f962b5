"""Training settings: the starter preset, named config errors, YAML, command line, step plan."""

import math
import shlex

import pytest
import yaml

from ftcore.cli import build_parser
from ftcore.cli.train_commands import config_from_args
from ftcore.errors import ConfigError, EmptyDatasetError
from ftcore.training.config import (
    FIELD_NAMES,
    TrainConfig,
    command_line,
    config_from_dict,
    load_config,
    save_config,
    setting_flag,
    setting_help,
)
from ftcore.training.presets import PRESETS, preset_config
from ftcore.training.schedule import lr_factor, make_plan

KNOB_HELP = {name: setting_help(name) for name in FIELD_NAMES}


def test_defaults_are_the_starter_recipe():
    config = preset_config("starter", data="ds")
    assert (config.method, config.lora_rank, config.lora_alpha) == ("lora", 8, 16)
    assert (config.epochs, config.max_length, config.lr_scheduler) == (3, 2048, "cosine")
    assert 0 < config.warmup_ratio < 0.2
    assert config == TrainConfig(data="ds")


def test_low_memory_preset_keeps_the_effective_batch():
    config = preset_config("low-memory", data="ds")
    assert (config.method, config.gradient_checkpointing) == ("qlora", True)
    assert config.effective_batch_size == TrainConfig().effective_batch_size == 4


def test_every_knob_has_a_help_text():
    assert set(FIELD_NAMES) - {"out", "name", "home"} <= set(KNOB_HELP)
    assert all(len(text) > 30 for text in KNOB_HELP.values())


@pytest.mark.parametrize(
    ("changes", "field", "allowed"),
    [
        ({"method": "lorra"}, "method", "one of lora, qlora, full. Did you mean 'lora'?"),
        ({"precision": "fp8"}, "precision", "one of auto, bf16, fp16, fp32"),
        ({"lr_scheduler": "cosin"}, "lr_scheduler", "Did you mean 'cosine'?"),
        ({"lora_rank": 0}, "lora_rank", "a value in 1..1024"),
        ({"lora_rank": "eight"}, "lora_rank", "an integer"),
        ({"batch_size": True}, "batch_size", "an integer"),
        ({"batch_size": 0}, "batch_size", "a value in 1..4096"),
        ({"lora_dropout": 1.0}, "lora_dropout", "a number in [0, 1)"),
        ({"learning_rate": 0}, "learning_rate", "a number in (0, 1]"),
        ({"warmup_ratio": 1.0}, "warmup_ratio", "a number in [0, 1)"),
        ({"max_length": 4}, "max_length", "a value in 16..1048576"),
        ({"target_modules": []}, "target_modules", "a non-empty list of module names"),
        ({"gradient_checkpointing": "yes"}, "gradient_checkpointing", "true or false"),
        ({"device": "tpu"}, "device", "one of auto, cpu, cuda"),
        ({"packing": True, "group_by_length": True}, "group_by_length", "false when packing"),
    ],
)
def test_bad_settings_name_the_field_the_value_and_what_is_allowed(changes, field, allowed):
    with pytest.raises(ConfigError) as caught:
        TrainConfig(data="ds", **changes)
    assert caught.value.field == field
    assert allowed in caught.value.allowed
    assert str(caught.value).startswith(f"{field}={caught.value.value!r} is not allowed")


def test_unknown_setting_in_a_file_suggests_the_known_one(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("data: ds\nlora_rnak: 16\n", "utf-8")
    with pytest.raises(ConfigError, match="lora_rnak=16 .* Did you mean 'lora_rank'"):
        load_config(path)
    with pytest.raises(ConfigError, match="config=.*valid YAML"):
        path.write_text("data: [ds\n", "utf-8")
        load_config(path)
    with pytest.raises(ConfigError, match="a readable YAML file"):
        load_config(tmp_path / "missing.yaml")


def test_yaml_round_trip_and_overrides(tmp_path):
    config = TrainConfig(data="ds", method="qlora", target_modules=["q_proj", "v_proj"], seed=7)
    path = save_config(config, tmp_path / "config.yaml")
    assert load_config(path) == config
    assert config_from_dict(config.to_dict()) == config
    overridden = load_config(path, lora_rank=32, learning_rate=None)
    assert (overridden.lora_rank, overridden.learning_rate) == (32, config.learning_rate)


def test_command_line_uses_flags_when_they_say_everything():
    config = preset_config(
        "demo", data="ds v1", out="runs/a", method="qlora", max_steps=100, seed=3
    )
    assert command_line(config) == (
        "ftcore train --base demo --data 'ds v1' --out runs/a --method qlora "
        "--max-steps 100 --seed 3"
    )
    # Every setting has a flag, so the command never needs a config file.
    assert command_line(config.replace(packing=True)) == (
        "ftcore train --base demo --data 'ds v1' --out runs/a --method qlora "
        "--max-steps 100 --packing --seed 3"
    )


# Every setting away from its default, so the command line carries every flag.
EVERY_SETTING_CHANGED = TrainConfig(
    base="org/model 7b",
    data="datasets/greetings v2",
    out="runs/all",
    name="every-flag",
    method="qlora",
    lora_rank=16,
    lora_alpha=32,
    lora_dropout=0.1,
    target_modules=["q_proj", "v_proj"],
    epochs=2,
    max_steps=7,
    learning_rate=1e-5,
    lr_scheduler="linear",
    warmup_ratio=0.1,
    weight_decay=0.01,
    max_grad_norm=0.5,
    batch_size=2,
    grad_accum=3,
    max_length=512,
    gradient_checkpointing=True,
    precision="fp32",
    group_by_length=True,
    packing=False,
    seed=7,
    eval_every=10,
    eval_batch_size=4,
    early_stopping_patience=2,
    early_stopping_min_delta=0.001,
    save_every=0,
    log_every=5,
    device="cpu",
    home="/srv/ftstudio home",
)


def parsed_config(command: str) -> TrainConfig:
    """The config `ftcore train` builds from a command line, without training."""
    argv = shlex.split(command)
    assert argv[:2] == ["ftcore", "train"]
    return config_from_args(build_parser().parse_args(argv[1:]))


def test_every_setting_has_help_and_a_flag_that_sets_it(capsys):
    defaults = TrainConfig()
    changed = [n for n in FIELD_NAMES if getattr(EVERY_SETTING_CHANGED, n) != getattr(defaults, n)]
    assert changed == [n for n in FIELD_NAMES if n != "packing"]  # packing: see below
    flags = [setting_flag(name) for name in FIELD_NAMES]
    assert len(set(flags)) == len(FIELD_NAMES) and all(f.startswith("--") for f in flags)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for name in FIELD_NAMES:
        assert len(setting_help(name)) > 30
        assert f"{setting_flag(name)} " in help_text
        assert " ".join(setting_help(name).split()[:4]) in help_text  # the tab's text
    command = command_line(EVERY_SETTING_CHANGED)
    assert parsed_config(command) == EVERY_SETTING_CHANGED
    packed = EVERY_SETTING_CHANGED.replace(packing=True, group_by_length=False)
    assert parsed_config(command_line(packed)) == packed
    assert "--packing" in command_line(packed) and "--no-group-by-length" not in command_line(
        packed
    )
    assert parsed_config("ftcore train --packing --no-packing --data d") == preset_config(
        "demo", data="d"
    )


def test_config_yaml_comments_each_setting_with_its_help():
    text = TrainConfig(data="ds", lora_rank=16).to_yaml()
    lines = text.splitlines()
    at = lines.index("lora_rank: 16")
    comment = []
    for line in reversed(lines[:at]):
        if not line.startswith("# "):
            break
        comment.insert(0, line[2:])
    assert " ".join(comment) == setting_help("lora_rank")
    assert yaml.safe_load(text) == TrainConfig(data="ds", lora_rank=16).to_dict()


@pytest.mark.parametrize(
    ("rows", "batch", "accum", "epochs", "max_steps", "world", "expected"),
    [
        (48, 8, 1, 3, 0, 1, (6, 1, 6, 18)),
        (50, 8, 2, 2, 0, 1, (7, 2, 4, 8)),  # the last step of an epoch takes one batch
        (50, 8, 1, 1, 0, 2, (6, 2, 3, 3)),  # a 7th batch would leave one GPU idle
        (48, 8, 1, 3, 40, 1, (6, 1, 6, 40)),  # max_steps wins and cycles epochs
    ],
)
def test_step_plan(rows, batch, accum, epochs, max_steps, world, expected):
    plan = make_plan(
        rows,
        batch_size=batch,
        grad_accum=accum,
        epochs=epochs,
        max_steps=max_steps,
        warmup_ratio=0.1,
        world_size=world,
    )
    got = (plan.batches_per_epoch, plan.micro_per_step, plan.steps_per_epoch, plan.total_steps)
    assert got == expected
    assert plan.warmup_steps == math.ceil(0.1 * plan.total_steps)


def test_step_locations_cover_each_epoch_once():
    plan = make_plan(
        50, batch_size=8, grad_accum=2, epochs=2, max_steps=0, warmup_ratio=0.0, world_size=1
    )
    assert [plan.locate(s) for s in range(5)] == [
        (0, range(0, 2)),
        (0, range(2, 4)),
        (0, range(4, 6)),
        (0, range(6, 7)),
        (1, range(0, 2)),
    ]
    assert plan.epoch_progress(6) == 1.5


def test_too_few_rows_for_the_processes_is_refused():
    with pytest.raises(EmptyDatasetError, match="cannot fill one batch"):
        make_plan(
            3, batch_size=4, grad_accum=1, epochs=1, max_steps=0, warmup_ratio=0, world_size=2
        )


def test_warmup_then_cosine_decay_by_hand():
    plan = make_plan(
        100, batch_size=1, grad_accum=1, epochs=1, max_steps=0, warmup_ratio=0.04, world_size=1
    )
    assert plan.warmup_steps == 4
    factors = [lr_factor(step, plan, "cosine") for step in range(100)]
    assert factors[:5] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert factors[52] == pytest.approx(0.5 * (1 + math.cos(math.pi * 48 / 96)))
    assert factors[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 95 / 96)))
    assert all(a >= b for a, b in zip(factors[3:], factors[4:], strict=False))
    assert lr_factor(52, plan, "linear") == pytest.approx(0.5)
    assert lr_factor(99, plan, "constant") == 1.0


def test_presets_and_unknown_preset():
    assert set(PRESETS) == {"starter", "low-memory", "demo"}
    with pytest.raises(ConfigError, match="preset='starer'.*Did you mean 'starter'"):
        preset_config("starer")
