"""The file exchange (exchange.py): folders the suite sends in are readable and read-only in the sandbox;
files collected out are only JSON and safetensors, parsed without pickle, and everything else is a clear
failure of the test, never a crash of the grader, whatever the worker does or sends."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from autograder import exchange
from autograder.client import CallFailed, Limits, Submission, Zygote
from autograder.course import kit_root

WRITER = """
import json, os, pickle, sys
from pathlib import Path

import torch
from safetensors.torch import save_file


def read(folder, name):
    return (Path(folder) / name).read_text()


def overwrite(folder, name):
    try:
        (Path(folder) / name).write_text("changed by the submission")
    except OSError as exc:
        return type(exc).__name__
    return "written"


def save(folder):
    os.makedirs(os.path.join(folder, "sub"), exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as handle:
        json.dump({"r": 4, "names": ["q", "v"]}, handle)
    save_file({"w": torch.arange(6.0).reshape(2, 3)}, os.path.join(folder, "sub", "w.safetensors"))
    return True


def plant(folder, kind, target=""):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.safetensors")
    if kind == "symlink":
        os.symlink(target, path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "huge":
        with open(path, "wb") as handle:
            handle.truncate(3 << 20)
    elif kind == "pickle":
        with open(path, "wb") as handle:
            pickle.dump({"w": torch.zeros(2)}, handle)
    elif kind == "text":
        with open(os.path.join(folder, "notes.txt"), "w") as handle:
            handle.write("hello")
    elif kind == "deep":
        with open(os.path.join(folder, "deep.json"), "w") as handle:
            handle.write("[" * 100000 + "]" * 100000)
    return True


def forge(entries):
    # a worker that skips the kit's own checks and sends what it likes
    def fake(folder, max_files, max_bytes):
        return [[n, torch.frombuffer(bytearray(d.encode()), dtype=torch.uint8)] for n, d in entries]

    sys.modules["autograder.exchange"].read_outbox = fake
    return True
"""

LIMITS = Limits(call_timeout=10, cpu_seconds=60, memory_mb=1024)


@pytest.fixture(scope="module")
def zygote():
    with Zygote(hidden=[kit_root()], limits=LIMITS) as z:
        yield z


@pytest.fixture
def sub(zygote):
    folder = Path(tempfile.mkdtemp(prefix="llmkit-test-"))
    os.chmod(folder, 0o755)
    (folder / "writer.py").write_text(WRITER)
    os.chmod(folder / "writer.py", 0o644)
    s = Submission(zygote, folder, LIMITS, modules=("writer.py",), exchange=("in", "out"))
    yield s
    s.close()
    shutil.rmtree(folder)


def test_a_folder_sent_in_is_readable_and_read_only(sub, tmp_path):
    (tmp_path / "ckpt" / "nested").mkdir(parents=True)
    (tmp_path / "ckpt" / "config.json").write_text('{"hidden_size": 8}')
    (tmp_path / "ckpt" / "nested" / "x.txt").write_text("deep")
    inside = sub.send_folder(tmp_path / "ckpt", "ckpt")
    assert sub.call("writer.read", inside, "config.json") == '{"hidden_size": 8}'
    assert sub.call("writer.read", inside, "nested/x.txt") == "deep"
    assert sub.call("writer.overwrite", inside, "config.json") != "written"
    assert (Path(inside) / "config.json").read_text() == '{"hidden_size": 8}'
    assert sub.send_folder(tmp_path / "ckpt", "ckpt") != inside  # each sending gets its own folder


def test_the_suite_cannot_send_links(sub, tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "link.json").symlink_to(kit_root() / "course.yml")
    with pytest.raises(RuntimeError, match="not a regular file"):
        sub.send_folder(tmp_path / "bad")


def test_json_and_safetensors_come_back_parsed(sub):
    out = sub.outbox("adapter")
    assert sub.call("writer.save", out) is True
    files = sub.collect(out)
    assert sorted(files) == ["config.json", "sub/w.safetensors"]
    assert files["config.json"] == {"r": 4, "names": ["q", "v"]}
    assert torch.equal(files["sub/w.safetensors"]["w"], torch.arange(6.0).reshape(2, 3))


def test_a_folder_never_written_is_a_clear_failure(sub):
    with pytest.raises(CallFailed, match="was not written"):
        sub.collect(sub.outbox("never"))


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("symlink", "a link"),
        ("fifo", "not a regular file"),
        ("huge", "cap"),
        ("pickle", "not a valid safetensors file"),
        ("text", "only .json and .safetensors"),
        ("deep", "not valid JSON|nested more than"),
    ],
)
def test_hostile_files_are_refused_with_a_reason(sub, kind, message):
    out = sub.outbox(kind)
    hidden = str(kit_root() / "course.yml")
    assert sub.call("writer.plant", out, kind, hidden) is True
    start = time.monotonic()
    with pytest.raises(CallFailed, match=message) as info:
        sub.collect(out, max_bytes=2 << 20)
    assert time.monotonic() - start < 5
    assert "term:" not in str(info.value)  # nothing of the hidden file
    assert sub.call("writer.save", sub.outbox("after")) is True  # the worker and the grader carry on


@pytest.mark.parametrize(
    "name",
    ["../escape.json", "/etc/passwd.json", "a/../../b.json", ".hidden.json", "a\\b.json", "x.pt", "a//b.json",
     "name\x1b[2J.json", ""],
)  # fmt: skip
def test_a_forged_collection_cannot_escape_or_change_type(sub, name):
    """The worker's own checks can be bypassed: the trusted side checks every name again."""
    assert sub.call("writer.forge", [[name, "{}"]]) is True
    with pytest.raises(CallFailed) as info:
        sub.collect(sub.outbox("forged"))
    assert info.value.kind == "exchange"
    assert "\x1b" not in str(info.value)


def test_a_forged_collection_is_size_capped_before_it_is_read(sub):
    assert sub.call("writer.forge", [["big.json", "1" * (3 << 20)]]) is True
    with pytest.raises(CallFailed):
        sub.collect(sub.outbox("big"), max_bytes=1 << 20)


def test_directions_must_be_declared(zygote, tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="llmkit-test-"))
    os.chmod(folder, 0o755)
    (folder / "writer.py").write_text(WRITER)
    s = Submission(zygote, folder, LIMITS, modules=("writer.py",), exchange=("out",))
    try:
        (tmp_path / "x").mkdir()
        with pytest.raises(RuntimeError, match=r"exchange: \[in\]"):
            s.send_folder(tmp_path / "x")
        s.exchange = ()
        with pytest.raises(RuntimeError, match=r"exchange: \[out\]"):
            s.outbox()
    finally:
        s.close()
        shutil.rmtree(folder)


def test_accept_checks_every_entry_without_a_worker():
    good = torch.frombuffer(bytearray(json.dumps([1, 2]).encode()), dtype=torch.uint8)
    assert exchange.accept([["a.json", good]]) == {"a.json": [1, 2]}
    for reply in (None, {"a.json": good}, [["a.json", good, 1]], [["a.json", good.float()]],
                  [["a.json", good], ["a.json", good]], [[b"a.json", good]]):  # fmt: skip
        with pytest.raises(exchange.ExchangeError):
            exchange.accept(reply)


def test_safetensors_are_parsed_by_the_library(tmp_path):
    save_file({"a": torch.ones(2, 2, dtype=torch.bfloat16)}, tmp_path / "m.safetensors")
    parsed = exchange.parse("m.safetensors", (tmp_path / "m.safetensors").read_bytes())
    assert parsed["a"].dtype == torch.bfloat16 and parsed["a"].shape == (2, 2)
    with pytest.raises(exchange.ExchangeError, match="safetensors"):
        exchange.parse("m.safetensors", (tmp_path / "m.safetensors").read_bytes()[:20])
