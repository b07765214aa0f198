"""The wire: plain tagged data round-trips; everything else is refused; malformed frames are caught."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
import torch

from autograder import wire


@pytest.mark.parametrize(
    "dtype",
    [
        torch.float32,
        torch.float64,
        torch.float16,
        torch.bfloat16,
        torch.int64,
        torch.int32,
        torch.int8,
        torch.uint8,
        torch.bool,
    ],
)
def test_tensors_round_trip_bit_exact(dtype):
    t = (torch.randn(2, 3, 5) * 100).to(dtype)
    back = wire.read_frame(io.BytesIO(wire.encode({"x": t})))["x"]
    assert type(back) is torch.Tensor and back.dtype == dtype and back.shape == t.shape
    assert torch.equal(
        back.view(torch.uint8) if dtype.is_floating_point else back,
        t.view(torch.uint8) if dtype.is_floating_point else t,
    )


def test_plain_values_round_trip():
    value = {
        "a": [1, 2.5, None, True, "s", 2**70, float("inf"), -float("inf")],
        "b": {"c": np.arange(4)},
        "h": wire.Handle(3, "GPT"),
        "empty": torch.zeros(0, 4),
        "scalar": torch.tensor(2.0),
    }
    back = wire.read_frame(io.BytesIO(wire.encode(value)))
    assert back["a"][:6] == [1, 2.5, None, True, "s", 2**70] and back["a"][6:] == [
        float("inf"),
        -float("inf"),
    ]
    assert isinstance(back["b"]["c"], np.ndarray) and back["b"]["c"].tolist() == [0, 1, 2, 3]
    assert back["h"] == wire.Handle(3, "GPT")
    assert back["empty"].shape == (0, 4) and back["scalar"].shape == ()
    nan = wire.read_frame(io.BytesIO(wire.encode(float("nan"))))
    assert nan != nan


def test_non_contiguous_and_subclass_tensors_arrive_plain():
    class Sub(torch.Tensor):
        pass

    t = torch.arange(12.0).reshape(3, 4).t().as_subclass(Sub)
    back = wire.read_frame(io.BytesIO(wire.encode(t)))
    assert type(back) is torch.Tensor and torch.equal(back, torch.arange(12.0).reshape(3, 4).t())


@pytest.mark.parametrize(
    "value", [object(), {1: 2}, torch.zeros(2, dtype=torch.complex64), lambda: 0, b"bytes"]
)
def test_other_types_are_refused(value):
    with pytest.raises(wire.WireError):
        wire.encode(value)


def _frame(header: dict | list | str, blob: bytes = b"") -> io.BytesIO:
    raw = json.dumps(header).encode()
    return io.BytesIO(b"LKW1" + struct.pack("<IQ", len(raw), len(blob)) + raw + blob)


@pytest.mark.parametrize(
    "header, blob",
    [
        ({"t": "tensor", "dtype": "float32", "shape": [2], "off": 0, "len": 4}, b"\0" * 8),  # length mismatch
        ({"t": "tensor", "dtype": "float32", "shape": [2], "off": 4, "len": 8}, b"\0" * 8),  # out of the blob
        ({"t": "tensor", "dtype": "object", "shape": [1], "off": 0, "len": 8}, b"\0" * 8),  # bad dtype
        ({"t": "tensor", "dtype": "float32", "shape": [-1], "off": 0, "len": 0}, b""),  # bad shape
        ({"t": "pickle", "v": "gASVAAAAAAAAAA=="}, b""),  # unknown tag
        ({"t": "float", "v": "1e999999"}, b""),  # only nan/inf
        ({"t": "handle", "id": "3", "type": "x"}, b""),  # bad handle
        ({"no": "tag"}, b""),  # untagged dict
        ([1, 2], b""),  # untagged list
    ],
)
def test_malformed_frames_raise_wire_error(header, blob):
    with pytest.raises(wire.WireError):
        wire.read_frame(_frame(header, blob))


def test_bad_magic_oversized_and_deep_frames():
    with pytest.raises(wire.WireError):
        wire.read_frame(io.BytesIO(b"XXXX" + struct.pack("<IQ", 2, 0) + b"{}"))
    with pytest.raises(wire.WireError):
        wire.read_frame(io.BytesIO(b"LKW1" + struct.pack("<IQ", 2, 1 << 40) + b"{}"))
    deep: dict = {"t": "list", "v": []}
    for _ in range(100):
        deep = {"t": "list", "v": [deep]}
    with pytest.raises(wire.WireError):
        wire.read_frame(_frame(deep))
    with pytest.raises(EOFError):
        wire.read_frame(io.BytesIO(b"LKW1\x00"))


def test_a_deferred_frame_is_checked_by_its_header_and_read_once():
    """`decode_deferred` builds the message from the header alone, checking every tensor reference against
    the blob's length; the blob is read on the first `materialize` and shared by every tensor of the frame."""
    a, b = torch.arange(6, dtype=torch.float32).reshape(2, 3), torch.tensor([True, False])
    frame = wire.encode({"a": a, "b": [b, 7]})
    header_len, blob_len = wire.parse_prefix(frame[: wire.PREFIX_SIZE])
    header, blob = frame[wire.PREFIX_SIZE : wire.PREFIX_SIZE + header_len], frame[-blob_len:]
    reads = []
    deferred = wire.DeferredBlob(blob_len, lambda n: reads.append(n) or blob)
    value = wire.decode_deferred(header, deferred)
    assert value["b"][1] == 7 and reads == []
    assert value["a"].shape == (2, 3) and value["a"].torch_dtype == torch.float32 and value["a"].nbytes == 24
    assert torch.equal(value["a"].materialize(), a) and torch.equal(value["b"][0].materialize(), b)
    assert reads == [blob_len]
    with pytest.raises(wire.WireError, match="does not match"):  # a reference past the blob's end
        wire.decode_deferred(header, wire.DeferredBlob(blob_len - 1, lambda n: b""))
    dropped = wire.DeferredBlob(blob_len, lambda n: blob)
    value = wire.decode_deferred(header, dropped)
    dropped.discard()
    with pytest.raises(wire.WireError, match="dropped unread"):
        value["a"].materialize()
