"""RowSpool: valid records kept on disk while only a few numbers per row stay in memory.

Deduplication and splitting need, per row, an exact-duplicate key, LSH band keys and a
similarity sketch, a length and a stratum: about 150 bytes. The records themselves go to
a spool file and are read back by offset (to verify a near-duplicate candidate) or in
order (to write the splits), so memory does not grow with the text of the rows.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ftcore.data.dedup import exact_key, near_text
from ftcore.data.minhash import BATCH_SIZE, SKETCH_SIZE, Hashes, MinHasher
from ftcore.data.records import Record
from ftcore.files import json_line


class RowSpool:
    """Append records, then read them back in order or one by one."""

    def __init__(self, path: Path, hasher: MinHasher | None):
        self.path, self.hasher = Path(path), hasher
        self.file = open(path, "w+b")  # noqa: SIM115 - closed by close()
        self.offsets = array("q")
        self.exact_keys = array("Q")
        self.lengths = array("q")
        self.strata: list[str] = []
        self._stratum_names: dict[str, str] = {}  # one string object per label value
        self._pending: list[str] = []  # near-duplicate texts waiting to be hashed
        # Hashes are appended to two growing buffers rather than kept as many small
        # arrays, which would fragment the heap between the hashing temporaries.
        self._band_keys, self._sketches = array("I"), array("B")
        self._end = 0

    def __len__(self) -> int:
        return len(self.offsets)

    def add(self, record: Record, length: int, stratum: str) -> None:
        line = json_line(record.to_json()).encode()
        self.offsets.append(self._end)
        self.file.write(line)
        self._end += len(line)
        self.exact_keys.append(exact_key(record.messages))
        self.lengths.append(length)
        self.strata.append(self._stratum_names.setdefault(stratum, stratum))
        if self.hasher is not None:
            self._pending.append(near_text(record.messages))
            if len(self._pending) >= BATCH_SIZE:
                self._hash_pending()

    def _hash_pending(self) -> None:
        if self._pending and self.hasher is not None:
            hashes = self.hasher.hashes(self._pending)
            self._band_keys.frombytes(hashes.band_keys.tobytes())
            self._sketches.frombytes(hashes.sketches.tobytes())
        self._pending = []

    def finish(self) -> None:
        """Hash what is left and make the file readable; call once, after the last add."""
        self._hash_pending()
        self.file.flush()

    @property
    def hashes(self) -> Hashes | None:
        """Band keys and sketches of every row, for near-duplicate search (None: off)."""
        if self.hasher is None:
            return None
        band_keys = np.frombuffer(self._band_keys, dtype=np.uint32)
        sketches = np.frombuffer(self._sketches, dtype=np.uint8)
        return Hashes(band_keys.reshape(-1, self.hasher.bands), sketches.reshape(-1, SKETCH_SIZE))

    def exact_key_array(self) -> np.ndarray:
        return np.frombuffer(self.exact_keys, dtype=np.uint64)

    def length_array(self) -> np.ndarray:
        return np.frombuffer(self.lengths, dtype=np.int64)

    def record(self, row: int) -> Record:
        self.file.seek(self.offsets[row])
        return Record.from_json(json.loads(self.file.readline()))

    def near_text(self, row: int) -> str:
        return near_text(self.record(row).messages)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        """(row, the record's JSON line) in the order rows were added."""
        self.file.seek(0)
        yield from enumerate(self.file)

    def close(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)
