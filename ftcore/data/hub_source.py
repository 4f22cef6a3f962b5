"""Rows of a Hugging Face dataset ("hf:OWNER/NAME"), read through `datasets`, offline first.

`datasets.load_dataset` finds the dataset in the local cache (~/.cache/huggingface) and,
where the Hub is reachable, downloads it first. With HF_HUB_OFFLINE=1 only the cache is
used, and a dataset missing from it is one clear error saying how to fetch it. A local
folder works too: data files (JSON, CSV, Parquet …) or a `save_to_disk` folder.

A Hub row becomes a RawRow like a file's: its "line" is its index in the split (0-based,
as `dataset[split][index]` finds it), and its source is named "hf:OWNER/NAME[split]", so
rejects point back at the row exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ftcore.data.records import RawRow
from ftcore.errors import DataError, did_you_mean

HUB_PREFIX = "hf:"
DEFAULT_SPLIT = "train"


@dataclass(frozen=True)
class HubDataset:
    """One split of a dataset that `datasets` can load: a Hub id or a local folder."""

    id: str  # "OWNER/NAME", or a folder
    split: str = DEFAULT_SPLIT
    subset: str | None = None  # the configuration, `name` in datasets.load_dataset

    @property
    def local(self) -> bool:
        return Path(self.id).is_dir()

    @property
    def name(self) -> str:
        """How rows name it: the Hub id, or a local folder's name (paths differ by machine)."""
        ident = Path(self.id).name if self.local else self.id
        subset = f"/{self.subset}" if self.subset else ""
        return f"{HUB_PREFIX}{ident}{subset}[{self.split}]"


def hub_input(value: str | Path, split: str | None = None) -> str | Path | HubDataset:
    """A HubDataset for "hf:OWNER/NAME" (its `split`, default train); anything else as is."""
    if isinstance(value, str) and value.startswith(HUB_PREFIX):
        ident = value[len(HUB_PREFIX) :].strip()
        if not ident:
            raise DataError(f"{value!r} names no dataset: write hf:OWNER/NAME")
        return HubDataset(ident, split or DEFAULT_SPLIT)
    return value


def _fetch_hint(dataset: HubDataset) -> str:
    subset = f", {dataset.subset!r}" if dataset.subset else ""
    return (
        f'fetch it once with network: python -c "import datasets; '
        f'datasets.load_dataset({dataset.id!r}{subset})"'
    )


def _load_all_splits(dataset: HubDataset):
    import datasets

    if dataset.local and any(
        (Path(dataset.id) / name).is_file() for name in ("dataset_dict.json", "state.json")
    ):
        return datasets.load_from_disk(dataset.id)  # what save_to_disk wrote
    try:
        return datasets.load_dataset(dataset.id, dataset.subset)
    except datasets.exceptions.DatasetNotFoundError as exc:
        raise DataError(f"no dataset {dataset.id!r} on the Hub or on this machine") from exc
    except ConnectionError as exc:
        if datasets.config.HF_HUB_OFFLINE:
            raise DataError(
                f"{HUB_PREFIX}{dataset.id} is not in the local Hugging Face cache and "
                f"HF_HUB_OFFLINE=1; {_fetch_hint(dataset)}"
            ) from exc
        raise DataError(
            f"cannot reach the Hugging Face Hub for {HUB_PREFIX}{dataset.id} "
            f"({exc}); connect, or {_fetch_hint(dataset)} where you can"
        ) from exc


def load_hub_split(dataset: HubDataset):
    """The split as a datasets.Dataset; DataError naming the splits there are otherwise."""
    loaded = _load_all_splits(dataset)
    if not hasattr(loaded, "keys"):  # a save_to_disk folder of one Dataset
        return loaded
    if dataset.split not in loaded:
        splits = list(loaded)
        raise DataError(
            f"{HUB_PREFIX}{dataset.id} has no split {dataset.split!r}: it has "
            f"{', '.join(splits)}.{did_you_mean(dataset.split, splits)}"
        )
    return loaded[dataset.split]


def iter_hub_rows(rows) -> Iterator[RawRow]:
    """Every row of a datasets.Dataset as a RawRow; `offset` counts rows, not bytes."""
    for index, row in enumerate(rows):
        raw = json.dumps(row, ensure_ascii=False, default=str)
        yield RawRow(index, row, raw, index + 1)
