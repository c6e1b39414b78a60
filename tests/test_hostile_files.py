"""Hostile files as input: never a hang, a traceback or a crash; one line and exit 2."""

import os
import subprocess
import sys
import time

import pytest
from conftest import SCENARIOS

from pumpsim.cli import main
from pumpsim.errors import ScenarioError
from pumpsim.scenario.yamlsafe import MAX_DEPTH, libyaml_available, load_yaml_text

GOOD = (SCENARIOS / "missed-refill.yaml").read_text(encoding="utf-8")
SPEEDS = [True, False] if libyaml_available() else [False]


def one_error_line(capsys, argv, *words):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("fast", SPEEDS)
@pytest.mark.parametrize(
    "text",
    [
        "name: " + "[" * 100_000 + "]" * 100_000 + "\n",
        "name: " + "{a: " * 50_000 + "1" + "}" * 50_000 + "\n",
        "name:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 300)) + "  " * 300 + "x\n",
        "- " * 20_000 + "x\n",
    ],
    ids=["flow-seq", "flow-map", "block-map", "compact-seq"],
)
def test_deep_nesting_is_refused_without_recursion(text, fast):
    with pytest.raises(ScenarioError, match=f"nested more than {MAX_DEPTH} levels"):
        load_yaml_text(text, "deep.yaml", fast=fast)


@pytest.mark.parametrize("fast", SPEEDS)
def test_nesting_within_the_limit_loads(fast):
    depth = MAX_DEPTH - 2
    data = load_yaml_text("a: " + "[" * depth + "]" * depth + "\n", "ok.yaml", fast=fast).data
    for _ in range(depth - 1):
        data = data["a"] if isinstance(data, dict) else data[0]
    assert data == [] or data == [[]]


def test_both_parsers_build_the_same_data_and_lines():
    if not libyaml_available():
        pytest.skip("PyYAML without libyaml")
    for path in sorted(SCENARIOS.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        fast, pure = load_yaml_text(text, "f", fast=True), load_yaml_text(text, "f", fast=False)
        assert fast.data == pure.data and fast.lines == pure.lines, path


@pytest.mark.parametrize(
    "text",
    ["name: [unclosed\n", "a: b: c\n", "a:\n  - x\n y: 2\n", "a: 'open\n", "\ta: 1\n"],
)
def test_syntax_errors_read_the_same_with_libyaml(text):
    messages = set()
    for fast in SPEEDS:
        with pytest.raises(ScenarioError) as info:
            load_yaml_text(text, "s.yaml", fast=fast)
        messages.add(str(info.value))
    assert len(messages) == 1, messages


@pytest.mark.parametrize("fast", SPEEDS)
@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a: !!binary aGVsbG8=\n", "not allowed"),
        ("a: !!set {x, y}\n", "not allowed"),
        ("a: !!python/tuple [1]\n", "not allowed"),
        ("a: 1\n---\nb: 2\n", "one YAML document"),
        ("a: *nowhere\n", "alias"),
        ("a: \x07\n", "unacceptable character"),
        ("? [a, b]\n: 1\n", "plain value"),
        ("a: &a [*a]\n", "recursive"),
        ("a: &x 1\nb: &x 2\n", "duplicate anchor"),
        (
            "a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
            "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
            "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
            "alias bomb",
        ),
    ],
)
def test_unsafe_or_odd_yaml_is_refused(text, words, fast):
    with pytest.raises(ScenarioError, match=words):
        load_yaml_text(text, "u.yaml", fast=fast)


@pytest.mark.parametrize(
    ("raw", "words", "line"),
    [
        ("name: caf\xe9\n".encode("latin-1"), "not UTF-8", 1),
        (b"name: x\n\xff\xfe\n", "not UTF-8", 2),
        ("name: x\n".encode("utf-16"), "UTF-16", None),
        ("name: x\n".encode("utf-16-le"), "NUL bytes", 1),
        (bytes(range(256)) * 4, "NUL bytes", 1),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", "NUL bytes", 1),
    ],
    ids=["latin-1", "bad-byte-line-2", "utf-16-bom", "utf-16-no-bom", "binary", "elf"],
)
def test_encodings_and_binary(capsys, tmp_path, raw, words, line):
    path = tmp_path / "enc.yaml"
    path.write_bytes(raw)
    msg = one_error_line(capsys, ["validate", str(path)], words)
    if line is not None:
        assert msg.startswith(f"{path}:{line}:"), msg


def test_utf8_byte_order_mark_is_accepted(capsys, tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    assert main(["validate", str(path)]) == 0


def _run_cli(args, timeout=60, **kw):
    return subprocess.run(
        [sys.executable, "-m", "pumpsim", *args],
        capture_output=True,
        timeout=timeout,
        **kw,
    )


def test_fifo_as_file_argument_does_not_hang(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    for command in ("validate", "run", "check"):
        proc = _run_cli([command, str(fifo)])
        err = proc.stderr.decode()
        assert proc.returncode == 2, err
        assert "FIFO" in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1


def test_special_entries_in_a_folder_are_invalid_not_opened(capsys, tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    os.mkfifo(tmp_path / "fifo.yaml")
    (tmp_path / "dir.yaml").mkdir()
    os.symlink("/dev/null", tmp_path / "device.yaml")
    assert main(["check", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out.count("INVALID") == 3 and "PASS" in out
    lines = err.strip().splitlines()
    assert len(lines) == 3
    assert any("fifo.yaml: is a FIFO" in x for x in lines)
    assert any("dir.yaml: is a directory" in x for x in lines)
    assert any("device.yaml: is a character device" in x for x in lines)


def test_device_and_directory_arguments(capsys, tmp_path):
    one_error_line(capsys, ["validate", "/dev/null"], "character device")
    folder = tmp_path / "x.yaml"
    folder.mkdir()
    (folder / "inner.yaml").write_text(GOOD, encoding="utf-8")
    assert main(["validate", str(folder)]) == 0  # a folder argument is expanded, whatever its name


def test_empty_folder_message_names_it(capsys, tmp_path):
    for command in ("check", "validate"):
        msg = one_error_line(capsys, [command, str(tmp_path)], "no *.yaml")
        assert msg.startswith(str(tmp_path) + ":"), msg


def test_unreadable_file_and_folder(capsys, tmp_path, monkeypatch):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD, encoding="utf-8")
    real_open = os.open

    def denied(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    one_error_line(capsys, ["validate", str(path)], "permission denied")
    monkeypatch.undo()

    def no_listing(folder):
        raise PermissionError(13, "Permission denied", folder)

    monkeypatch.setattr(os, "listdir", no_listing)
    msg = one_error_line(capsys, ["check", str(tmp_path)], "cannot read folder")
    assert msg.startswith(str(tmp_path))


def test_non_utf8_file_names(tmp_path):
    folder = os.fsencode(tmp_path)
    with open(os.path.join(folder, b"caf\xe9.yaml"), "wb") as fh:
        fh.write(GOOD.encode("utf-8"))
    with open(os.path.join(folder, b"bad\xff.yaml"), "wb") as fh:
        fh.write(b"name: [\n")
    junit = tmp_path / "junit.xml"
    proc = _run_cli(
        ["check", str(tmp_path), "--junit", str(junit)],
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    out, err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "PASS" in out and "INVALID" in out and "caf" in out
    import xml.etree.ElementTree as ET

    cases = ET.parse(junit).getroot().iter("testcase")
    assert (
        len({case.get("classname") for case in cases}) == 2
    )  # one file each, cases per expectation


def test_size_cap_before_parsing(capsys, tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * 2_000_000)
    one_error_line(capsys, ["validate", str(path)], "larger than")


def test_junit_stays_well_formed_with_control_characters_in_file_names(tmp_path):
    import xml.etree.ElementTree as ET

    folder = os.fsencode(tmp_path)
    with open(os.path.join(folder, b"ctl\x01\xff.yaml"), "wb") as fh:
        fh.write(GOOD.encode("utf-8"))
    junit = tmp_path / "junit.xml"
    proc = _run_cli(["check", str(tmp_path), "--junit", str(junit)])
    assert proc.returncode == 0, proc.stderr
    names = [case.get("classname") for case in ET.parse(junit).getroot().iter("testcase")]
    assert names and all("ctl\\x01" in name for name in names)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("P" + "1" * 100_000 + "X", "cannot read duration"),
        ("PT" + "1" * 100_000, "cannot read duration"),
        ("1" * 400 + "d", "too long a duration"),
    ],
    ids=["iso-looking-100000-digits", "iso-time-100000-digits", "400-digits-is-infinity"],
)
def test_huge_durations_are_refused_quickly_in_one_short_line(capsys, tmp_path, value, words):
    path = tmp_path / "long.yaml"
    path.write_text(f"name: long\nduration: {value}\n", encoding="utf-8")
    start = time.perf_counter()
    msg = one_error_line(capsys, ["validate", str(path)], words, "duration")
    assert time.perf_counter() - start < 2.0
    assert msg.startswith(f"{path}:2:") and len(msg) < 400, msg
