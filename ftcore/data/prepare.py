"""prepare_dataset: raw files in, one dataset version out, and nothing valid lost.

Two passes keep memory flat for files of any size. The first streams every row of every
file through validation, cleaning and the token-length check: rejects go straight to
rejected.jsonl, records to a spool file (ftcore.data.spool), and each record leaves only a
few numbers in memory. Duplicates are clustered and clusters assigned to splits from
those numbers. The second pass streams the spool into train/val/test.jsonl. Everything
is written to a staging folder that replaces the output folder only once it is complete.
"""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ftcore import __version__
from ftcore.data import versions
from ftcore.data.clean import QUALITY_CHECKS, Cleaner
from ftcore.data.dedup import Duplicates, cluster_duplicates
from ftcore.data.minhash import MinHasher
from ftcore.data.readers import file_sha256
from ftcore.data.records import EMPTY_AFTER_CLEANING, LOW_QUALITY, TOO_LONG, RawRow, Reject
from ftcore.data.settings import PrepareSettings
from ftcore.data.sources import SourceFile, open_sources
from ftcore.data.split import MISSING_LABEL, SEALED_SPLIT, SPLITS, split_rows
from ftcore.data.split_files import leakage_report, write_duplicates, write_splits
from ftcore.data.spool import RowSpool
from ftcore.data.validate import character_length, token_length, too_long, validate_row
from ftcore.errors import ConfigError, DataError, did_you_mean
from ftcore.files import json_line
from ftcore.progress import Progress, scaled

logger = logging.getLogger(__name__)

SHOWN_REJECTS = 200  # rejects kept in memory for display; rejected.jsonl has them all
PROGRESS_EVERY = 2000  # rows between progress reports
READ_SHARE, DEDUP_SHARE = 0.8, 0.1  # of the progress bar; writing takes the rest


@dataclass
class PreparedDataset:
    """What prepare_dataset made: the version folder, its manifest and a preview."""

    path: Path
    manifest: dict
    rejects: list[Reject] = field(default_factory=list)  # the first SHOWN_REJECTS
    clusters: list[dict] = field(default_factory=list)  # the first outputs.SHOWN_CLUSTERS
    version: int | None = None  # its number in the workspace database, once registered

    @property
    def content_hash(self) -> str:
        return self.manifest["content_hash"]

    @property
    def counts(self) -> dict[str, int]:
        return self.manifest["counts"]

    def summary(self) -> str:
        """A few lines for people: what was kept, rejected and dropped, and where it went."""
        counts, manifest = self.counts, self.manifest
        lines = [
            f"{self.path}  (content hash {self.content_hash[:12]})",
            f"rows read {counts['read']}, rejected {counts['rejected']}, duplicates dropped "
            f"{counts['exact_duplicates']} exact + {counts['near_duplicates']} near, "
            f"kept {counts['kept']}",
            "splits: "
            + ", ".join(f"{s} {counts[s]}" for s in SPLITS)
            + f" ({SEALED_SPLIT} sealed)",
        ]
        changed = [
            f"{rule} {info['rows']}"
            for rule, info in manifest["cleaning"].items()
            if info["rows"] and rule not in QUALITY_CHECKS
        ]
        if changed:
            lines.append(f"rows changed by cleaning: {', '.join(changed)}")
        if manifest["rejects_by_reason"]:
            reasons = ", ".join(f"{code} {n}" for code, n in manifest["rejects_by_reason"].items())
            lines.append(f"rejects: {reasons} (see rejected.jsonl)")
        lines.append(f"leaks across splits: {manifest['leakage']['pairs']}")
        return "\n".join(lines)


class _Run:
    """The state of one prepare_dataset call while its first pass runs."""

    def __init__(
        self, settings: PrepareSettings, staging: Path, tokenizer, progress: Progress | None
    ):
        self.settings, self.tokenizer, self.progress = settings, tokenizer, progress
        self.cleaner = Cleaner(settings.cleaning)
        hasher = MinHasher(settings.near_dup, settings.ngram) if settings.near_dup else None
        self.spool = RowSpool(staging / ".spool.jsonl", hasher)
        self.rejects_file = open(staging / versions.REJECTED, "w", encoding="utf-8")  # noqa: SIM115
        self.rejects: list[Reject] = []
        self.reasons: Counter = Counter()
        self.label_names: set[str] = set()

    def reject(self, source: SourceFile, reject: Reject) -> None:
        source.rejected += 1
        self.reasons[reject.code] += 1
        if len(self.rejects) < SHOWN_REJECTS:
            self.rejects.append(reject)
        self.rejects_file.write(json_line(reject.to_json()))

    def read(self, sources: Sequence[SourceFile]) -> None:
        """The first pass: every row of every file to the spool or to rejected.jsonl."""
        total_bytes, done_bytes = sum(s.size for s in sources) or 1, 0
        for source in sources:
            for raw in source.rows_read():
                source.rows += 1
                self._take(source, raw)
                if self.progress and source.rows % PROGRESS_EVERY == 0:
                    fraction = READ_SHARE * (done_bytes + raw.offset) / total_bytes
                    self.progress(fraction, f"reading {source.name}: {source.rows} rows")
            done_bytes += source.size
        self.spool.finish()
        self.rejects_file.close()

    def _take(self, source: SourceFile, raw: RawRow) -> None:
        outcome = validate_row(raw, source.spec, source.name, self.cleaner)
        if isinstance(outcome, Reject):
            self.reject(source, outcome)
            return
        if self.tokenizer is not None:
            length = token_length(self.tokenizer, outcome.messages)
            if length > self.settings.max_tokens:
                self.reject(source, too_long(raw, source.name, length, self.settings.max_tokens))
                return
        else:
            length = character_length(outcome.messages)
        self.label_names.update(outcome.labels)
        stratify = self.settings.stratify
        stratum = str(outcome.labels.get(stratify, MISSING_LABEL)) if stratify else ""
        self.spool.add(outcome, length, stratum)

    def check_stratify(self) -> None:
        name = self.settings.stratify
        if name and name not in self.label_names:
            names = sorted(self.label_names)
            allowed = f"a label of the rows: {', '.join(names) or 'the rows have no labels'}."
            raise ConfigError("stratify", name, allowed + did_you_mean(name, names))


def _no_rows_error(sources: Sequence[SourceFile], run: _Run) -> DataError:
    names = ", ".join(source.name for source in sources)
    total = sum(source.rows for source in sources)
    if total == 0:
        return DataError(f"no rows in {names}")
    reasons = ", ".join(f"{code} {count}" for code, count in run.reasons.most_common())
    first = run.rejects[0].message() if run.rejects else ""
    return DataError(
        f"no valid rows: all {total} rows of {names} were rejected ({reasons}); first: {first}"
    )


def _counts(run: _Run, duplicates: Duplicates, split_stats: dict) -> dict[str, int]:
    rejected = sum(run.reasons.values())
    read = rejected + len(run.spool)
    after_validation = (EMPTY_AFTER_CLEANING, LOW_QUALITY, TOO_LONG)
    valid = read - rejected + sum(run.reasons[code] for code in after_validation)
    counts = {
        "read": read,
        "rejected": rejected,
        "valid": valid,
        "cleaned": valid - run.reasons[EMPTY_AFTER_CLEANING] - run.reasons[LOW_QUALITY],
        "within_max_tokens": len(run.spool),
        "exact_duplicates": duplicates.exact_dropped,
        "near_duplicates": duplicates.near_dropped,
        "kept": int((~duplicates.dropped).sum()),
    }
    counts.update({split: split_stats[split]["rows"] for split in SPLITS})
    return counts


def _tokenizer_name(tokenizer) -> str | None:
    # The folder or repo name only: an absolute path would make the hash machine-specific.
    return Path(tokenizer.name_or_path).name if tokenizer is not None else None


def _deduplicate_split_write(run: _Run, staging: Path, progress) -> tuple[dict, list[dict]]:
    """Cluster duplicates, split and write the row files: the manifest's sections on
    them, and the first clusters for display."""
    settings, spool = run.settings, run.spool
    if progress:
        progress(READ_SHARE, f"finding duplicates among {len(spool)} rows")
    duplicates = cluster_duplicates(
        spool.exact_key_array(),
        spool.hashes,
        spool.near_text,
        threshold=settings.near_dup or 1.0,
        ngram=settings.ngram,
        drop_exact=settings.exact_dedup,
        drop_near=settings.drop_near_dups,
    )
    split_of = split_rows(
        duplicates.group, duplicates.dropped, spool.strata, settings.split, settings.seed
    )
    unit = "tokens" if run.tokenizer is not None else "characters"
    split_progress = scaled(progress, READ_SHARE + DEDUP_SHARE, 1.0)
    split_stats, untabulated = write_splits(spool, split_of, staging, unit, split_progress)
    clusters = write_duplicates(spool, duplicates, staging)
    sections = {
        "counts": _counts(run, duplicates, split_stats),
        "rejects_by_reason": dict(run.reasons.most_common()),
        "cleaning": run.cleaner.report.to_json(),
        "duplicates": {
            "threshold": settings.near_dup,
            "ngram": settings.ngram,
            "similarity": "Jaccard of character n-gram sets (MinHash LSH, verified exactly)",
            "clusters": len(duplicates.clusters),
            "pairs_checked": duplicates.pairs_checked,
        },
        "leakage": leakage_report(spool, split_of, settings),
        "splits": split_stats,
        "labels_not_tabulated": untabulated,
    }
    return sections, clusters


def _prepare_into(
    staging: Path,
    sources: list[SourceFile],
    settings: PrepareSettings,
    tokenizer,
    progress,
    name: str,
) -> PreparedDataset:
    run = _Run(settings, staging, tokenizer, progress)
    try:
        run.read(sources)
        if len(run.spool) == 0:
            raise _no_rows_error(sources, run)
        run.check_stratify()
        sections, clusters = _deduplicate_split_write(run, staging, progress)
    finally:
        run.spool.close()
    manifest = {
        "manifest_format": versions.MANIFEST_FORMAT,
        "name": name,
        "ftcore_version": __version__,
        # ftcore.db.utc_now's format; importing ftcore.db would pull in pandas via sqlite-utils
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sources": [source.to_json() for source in sources],
        "settings": settings.to_json(),
        "seed": settings.seed,
        "tokenizer": _tokenizer_name(tokenizer),
        **sections,
        "sealed": [SEALED_SPLIT],
        "files": {file: file_sha256(staging / file) for file in versions.ROW_FILES},
    }
    manifest["content_hash"] = versions.content_hash(manifest)
    versions.write_manifest(staging, manifest)
    return PreparedDataset(staging, manifest, run.rejects, clusters)


def prepare_dataset(
    inputs: Sequence[str | Path],
    out_dir: str | Path | None = None,
    settings: PrepareSettings | None = None,
    *,
    tokenizer=None,
    progress: Progress | None = None,
    name: str | None = None,
    workspace=None,
    database=None,
) -> PreparedDataset:
    """Read, validate, clean, deduplicate and split `inputs` into a dataset version.

    The version goes to `out_dir`, or, when it is None, to
    `<workspace>/datasets/<name>/<first 12 characters of the content hash>`. With a
    `tokenizer`, rows longer than settings.max_tokens are rejected and lengths are in
    tokens (otherwise characters). With a `database` (ftcore.db.Database) the version is
    registered there. `progress(fraction, message)` is called as the work advances.
    Raises DataError when no row is valid (nothing is written then) or a file is not a
    dataset, ConfigError for a bad setting.
    """
    settings = (settings or PrepareSettings()).validated()
    if out_dir is None and workspace is None:
        raise DataError("give an output folder or a workspace to save the dataset version in")
    final = Path(out_dir) if out_dir is not None else None
    if final is not None:
        versions.check_output_folder(final)
    sources = open_sources(inputs, settings.format, settings.columns, settings.tags)
    name = name or sources[0].path.stem
    staging = versions.new_staging_folder(final or workspace.datasets / name / "pending")
    try:
        result = _prepare_into(staging, sources, settings, tokenizer, progress, name)
        target = final or workspace.datasets / name / result.content_hash[:12]
        result.path = versions.publish_folder(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when published
    if database is not None:
        result.version = versions.register_version(database, name, result.path, result.manifest)
    logger.info("prepared %s: %s", result.path, result.counts)
    if progress:
        progress(1.0, f"saved {result.counts['kept']} rows to {result.path}")
    return result
