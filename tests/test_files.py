"""ftcore.files: atomic writes, the one JSONL reader and appender, the BOM CSV writer."""

import csv
import os
import threading

import pytest

from ftcore.errors import DataError
from ftcore.files import (
    append_jsonl,
    atomic_open,
    numbered_jsonl,
    read_json,
    read_jsonl,
    write_bytes,
    write_csv,
    write_json,
    write_jsonl,
    write_text,
)

# ---- atomic writes --------------------------------------------------------------------


def test_an_atomic_write_leaves_only_the_file(tmp_path):
    path = tmp_path / "status.json"
    write_text(path, "old")
    write_json(path, {"state": "运行"})
    assert os.listdir(tmp_path) == ["status.json"]
    # Non-ASCII kept readable, two-space indent, a final newline.
    assert path.read_bytes() == '{\n  "state": "运行"\n}\n'.encode()


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "scores.json"
    write_text(path, "old content")
    with pytest.raises(RuntimeError), atomic_open(path) as file:
        file.write("half of the new")
        raise RuntimeError("killed mid-write")
    assert path.read_text("utf-8") == "old content"
    assert os.listdir(tmp_path) == ["scores.json"]


def test_a_reader_never_sees_half_a_file(tmp_path):
    # A writer replaces 1 MiB files over and over; every read sees one whole version.
    path = tmp_path / "big.bin"
    versions = [b"a" * 2**20, b"b" * 2**20]
    write_bytes(path, versions[0])
    done = threading.Event()

    def writer():
        for i in range(40):
            write_bytes(path, versions[i % 2])
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    reads = 0
    while not done.is_set() or reads < 5:
        assert path.read_bytes() in versions
        reads += 1
    thread.join()
    assert os.listdir(tmp_path) == ["big.bin"]


def test_atomic_files_get_the_usual_permissions(tmp_path):
    # A temporary from tempfile.mkstemp is 0600; the replaced file must honour the umask.
    old_umask = os.umask(0o022)
    try:
        write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old_umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_write_jsonl_writes_one_object_per_line(tmp_path):
    path = write_jsonl(tmp_path / "rows.jsonl", [{"id": 1, "text": "你好"}, {"id": 2}])
    assert path.read_bytes() == '{"id": 1, "text": "你好"}\n{"id": 2}\n'.encode()


# ---- JSONL reading ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("third_line", "problem"),
    [
        (b'{"id": 3,', "not a JSONL row (not valid JSON: Expecting property name"),
        (b"[1, 2]", "not a JSONL row (expected a JSON object, got list)"),
        (b'"text"', "not a JSONL row (expected a JSON object, got str)"),
        (b'{"id": "\xff"}', "not a JSONL row (not UTF-8: invalid start byte at byte 8)"),
    ],
)
def test_a_bad_line_names_file_and_line(tmp_path, third_line, problem):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"id": 1}\n\n' + third_line + b'\n{"id": 4}\n')
    with pytest.raises(DataError) as error:
        read_jsonl(path)
    assert str(error.value).startswith(f"{path}:3: {problem}")


def test_blank_lines_are_skipped_and_numbers_are_real_lines(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('\ufeff{"id": 1}\n\n  \n{"id": 2}', "utf-8")  # a BOM, no final newline
    assert list(numbered_jsonl(path)) == [(1, {"id": 1}), (4, {"id": 2})]
    assert list(numbered_jsonl(path, row_name="probe row")) == [(1, {"id": 1}), (4, {"id": 2})]


def test_the_row_name_is_in_the_message(tmp_path):
    path = tmp_path / "probe.jsonl"
    path.write_text("oops\n", "utf-8")
    with pytest.raises(DataError, match=r"probe.jsonl:1: not a probe row \(not valid JSON"):
        list(numbered_jsonl(path, row_name="probe row"))


@pytest.mark.parametrize("tail", ['{"step": 3, "lo', '{"step": 3}'])
def test_a_half_written_last_line_is_skipped_only_when_asked(tmp_path, tail):
    # A last line without its newline is a row still being written, parsed or not.
    path = tmp_path / "progress.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n' + tail, "utf-8")
    assert read_jsonl(path, tolerate_partial_tail=True) == [{"step": 1}, {"step": 2}]
    if tail.endswith("}"):
        assert read_jsonl(path)[-1] == {"step": 3}
    else:
        with pytest.raises(DataError, match=r"progress.jsonl:3: not a JSONL row"):
            read_jsonl(path)


def test_a_bad_line_before_the_last_is_an_error_even_when_tolerant(tmp_path):
    path = tmp_path / "progress.jsonl"
    path.write_text('{"step": 1}\n{"ste\n{"step": 3}\n', "utf-8")
    with pytest.raises(DataError, match=r"progress.jsonl:2: "):
        read_jsonl(path, tolerate_partial_tail=True)


def test_a_missing_file_is_a_data_error_unless_allowed(tmp_path):
    path = tmp_path / "none.jsonl"
    with pytest.raises(DataError, match="none.jsonl: file not found"):
        read_jsonl(path)
    assert read_jsonl(path, missing_ok=True) == []
    assert read_json(tmp_path / "none.json", missing_ok=True) is None


def test_read_json_names_a_broken_file(tmp_path):
    path = tmp_path / "evaluation.json"
    path.write_text('{\n  "base": 1,\n', "utf-8")
    with pytest.raises(DataError, match=r"evaluation.json: not valid JSON \(.* at line 3\)"):
        read_json(path)


# ---- JSONL appending ------------------------------------------------------------------


def test_append_writes_whole_lines(tmp_path):
    path = tmp_path / "predictions.jsonl"
    append_jsonl(path, [{"id": 1}])
    append_jsonl(path, [{"id": 2}, {"id": 3, "text": "好"}])
    assert path.read_bytes() == '{"id": 1}\n{"id": 2}\n{"id": 3, "text": "好"}\n'.encode()


@pytest.mark.parametrize("torn", ['{"id": 2, "te', '{"id": 2}', "x" * 200_000])
def test_append_cuts_a_torn_tail_first(tmp_path, torn):
    # The killed writer's half row must not glue onto the next row and break the file.
    path = tmp_path / "progress.jsonl"
    path.write_text('{"id": 1}\n' + torn, "utf-8")
    append_jsonl(path, [{"id": 3}])
    assert path.read_text("utf-8") == '{"id": 1}\n{"id": 3}\n'
    assert read_jsonl(path) == [{"id": 1}, {"id": 3}]


def test_append_cuts_a_file_that_is_only_a_torn_line(tmp_path):
    path = tmp_path / "progress.jsonl"
    path.write_text('{"id": 1', "utf-8")
    append_jsonl(path, [{"id": 2}])
    assert path.read_text("utf-8") == '{"id": 2}\n'


# ---- CSV ------------------------------------------------------------------------------


def test_csv_is_utf8_with_a_bom_for_excel(tmp_path):
    path = write_csv(tmp_path / "scores.csv", ["model", "text"], [["base", "中文"], [1, None]])
    assert path.read_bytes() == b"\xef\xbb\xbfmodel,text\r\nbase,\xe4\xb8\xad\xe6\x96\x87\r\n1,\r\n"
    assert os.listdir(tmp_path) == ["scores.csv"]


def test_csv_round_trips_commas_quotes_and_newlines(tmp_path):
    rows = [["a,b", 'say "hi"'], ["line\nbreak", "，中文"]]
    path = write_csv(tmp_path / "x.csv", ["one", "two"], rows)
    with open(path, encoding="utf-8-sig", newline="") as file:
        assert list(csv.reader(file)) == [["one", "two"], *rows]
