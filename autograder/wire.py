"""The wire between the trusted grader and the untrusted worker.

Only plain tagged data crosses it, never pickle: None, bool, int, float, str, lists, dicts with str keys,
tensors and numpy arrays (raw bytes + dtype + shape), and opaque handles naming objects that stay in the
worker. A frame is

    b"LKW1" | u32 header length | u64 blob length | header (UTF-8 JSON) | blob

where the JSON header holds the message and every tensor in it is a reference into the blob. The decoder
checks sizes, dtypes, nesting depth and offsets before it builds anything, so a hostile peer can at worst
send a wrong answer, never code.

A large frame can be decoded before its blob is read (`decode_deferred`): its tensors arrive as
`DeferredTensor`s that know their shape and dtype from the header and read the blob only when
`materialize`d, so a receiver that expected something else refuses it without ever holding its bytes.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import torch

MAGIC = b"LKW1"
_PREFIX = struct.Struct("<4sIQ")
MAX_HEADER = 16 << 20
MAX_BLOB = 1 << 30
MAX_DEPTH = 32
MAX_ITEMS = 1_000_000

# dtype names on the wire -> (torch dtype, numpy dtype)
DTYPES: dict[str, tuple[torch.dtype, np.dtype]] = {
    "float64": (torch.float64, np.dtype("<f8")),
    "float32": (torch.float32, np.dtype("<f4")),
    "float16": (torch.float16, np.dtype("<f2")),
    "int64": (torch.int64, np.dtype("<i8")),
    "int32": (torch.int32, np.dtype("<i4")),
    "int16": (torch.int16, np.dtype("<i2")),
    "int8": (torch.int8, np.dtype("i1")),
    "uint8": (torch.uint8, np.dtype("u1")),
    "bool": (torch.bool, np.dtype("?")),
}
_TORCH_NAMES = {t: name for name, (t, _) in DTYPES.items()}
_TORCH_NAMES[torch.bfloat16] = "bfloat16"
_NUMPY_NAMES = {n: name for name, (_, n) in DTYPES.items()}


class WireError(Exception):
    """A frame that breaks the protocol: the peer is broken or hostile."""


@dataclass(frozen=True)
class Handle:
    """An object that lives in the worker (a module, a cache, ...), named by an integer id."""

    id: int
    type_name: str


def encode(message: Any) -> bytes:
    """Serialise `message` into one frame."""
    blob = bytearray()
    header = json.dumps(_to_json(message, blob, 0), allow_nan=True, separators=(",", ":")).encode()
    if len(header) > MAX_HEADER or len(blob) > MAX_BLOB:
        raise WireError(f"message too large: header {len(header)} B, blob {len(blob)} B")
    return b"".join((_PREFIX.pack(MAGIC, len(header), len(blob)), header, blob))  # one copy of the blob


def _to_json(value: Any, blob: bytearray, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return {"t": "int", "v": str(value)} if abs(value) >= 2**53 else value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"t": "float", "v": repr(value)}
    if isinstance(value, Handle):
        return {"t": "handle", "id": value.id, "type": value.type_name}
    if isinstance(value, torch.Tensor):
        return _tensor_to_json(value, blob)
    if isinstance(value, np.ndarray):
        name = _NUMPY_NAMES.get(
            value.dtype.newbyteorder("<") if value.dtype.byteorder == ">" else value.dtype
        )
        if name is None:
            raise WireError(f"numpy dtype {value.dtype} is not allowed on the wire")
        data = np.ascontiguousarray(value, dtype=DTYPES[name][1]).tobytes()
        return _blob_ref("ndarray", name, list(value.shape), data, blob)
    if isinstance(value, np.generic):
        return _to_json(value.item(), blob, depth)
    if isinstance(value, list | tuple):
        return {"t": "list", "v": [_to_json(v, blob, depth + 1) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise WireError("dict keys must be str")
        return {"t": "dict", "v": {k: _to_json(v, blob, depth + 1) for k, v in value.items()}}
    raise WireError(f"type {type(value).__name__} cannot cross the wire")


def _tensor_to_json(t: torch.Tensor, blob: bytearray) -> dict:
    t = t.detach().cpu().contiguous()
    name = _TORCH_NAMES.get(t.dtype)
    if name is None:
        raise WireError(f"tensor dtype {t.dtype} is not allowed on the wire")
    if name == "bfloat16":  # numpy has no bfloat16: ship the raw 16-bit patterns
        array = t.view(torch.int16).numpy().astype("<i2", copy=False)
    else:
        array = t.numpy().astype(DTYPES[name][1], copy=False)
    data = memoryview(np.ascontiguousarray(array).reshape(-1).view(np.uint8))  # no copy until the blob
    return _blob_ref("tensor", name, list(t.shape), data, blob)


def _blob_ref(tag: str, dtype: str, shape: list[int], data: bytes | memoryview, blob: bytearray) -> dict:
    ref = {"t": tag, "dtype": dtype, "shape": shape, "off": len(blob), "len": len(data)}
    blob += data
    return ref


class DeferredBlob:
    """The still unread blob of a frame, `length` bytes that `reader(length)` takes from the stream."""

    def __init__(self, length: int, reader: Callable[[int], bytes | bytearray]) -> None:
        self.length = length
        self._reader: Callable[[int], bytes | bytearray] | None = reader
        self._data: memoryview | None = None
        self.discarded = False

    @property
    def consumed(self) -> bool:
        """Whether the blob has left the stream (read, or thrown away unread)."""
        return self._data is not None or self.discarded

    def read(self) -> memoryview:
        """The blob, read from the stream on the first call."""
        if self._data is None:
            if self.discarded or self._reader is None:
                raise WireError("the data of this reply was dropped unread (a later call came first)")
            self._data = memoryview(self._reader(self.length))
            self._reader = None
        return self._data

    def discard(self) -> None:
        self.discarded, self._reader = True, None


@dataclass(frozen=True)
class DeferredTensor:
    """A tensor (or numpy array) of a deferred frame: shape and dtype from the header, bytes still unread."""

    kind: str  # "tensor" or "ndarray"
    dtype: str  # the wire's dtype name ("float32", ...)
    shape: tuple[int, ...]
    nbytes: int
    _node: dict
    _blob: DeferredBlob

    @property
    def torch_dtype(self) -> torch.dtype:
        return torch.bfloat16 if self.dtype == "bfloat16" else DTYPES[self.dtype][0]

    def materialize(self) -> torch.Tensor | np.ndarray:
        """Read the frame's blob (once, for all its tensors) and build this tensor from it."""
        return _array_from_json(self._node, self._blob.read())


def decode(header: bytes, blob: bytes) -> Any:
    """Rebuild a message from a frame's header and blob, checking everything."""
    return _from_json(_parse_header(header), memoryview(blob), 0, [0])


def decode_deferred(header: bytes, blob: DeferredBlob) -> Any:
    """Rebuild a message from a frame's header alone: every tensor is a `DeferredTensor` into `blob`, checked
    against its length now; its bytes are read only when one is materialised."""
    return _from_json(_parse_header(header), blob, 0, [0])


def _parse_header(header: bytes) -> Any:
    try:
        return json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"header is not JSON: {exc}") from None


def _from_json(node: Any, blob: memoryview | DeferredBlob, depth: int, counter: list[int]) -> Any:
    counter[0] += 1
    if depth > MAX_DEPTH or counter[0] > MAX_ITEMS:
        raise WireError("message nested too deeply or too many items")
    if node is None or isinstance(node, bool | str | float):
        return node
    if isinstance(node, int):
        return node
    if not isinstance(node, dict) or not isinstance(node.get("t"), str):
        raise WireError(f"untagged value of type {type(node).__name__}")
    tag = node["t"]
    if tag == "list":
        items = node.get("v")
        if not isinstance(items, list):
            raise WireError("list without items")
        return [_from_json(v, blob, depth + 1, counter) for v in items]
    if tag == "dict":
        items = node.get("v")
        if not isinstance(items, dict):
            raise WireError("dict without items")
        return {str(k): _from_json(v, blob, depth + 1, counter) for k, v in items.items()}
    if tag == "int":
        return int(_str_field(node, "v"))
    if tag == "float":
        text = _str_field(node, "v")
        if text not in ("nan", "inf", "-inf"):
            raise WireError(f"bad float {text!r}")
        return float(text)
    if tag == "handle":
        hid, type_name = node.get("id"), node.get("type")
        if not isinstance(hid, int) or isinstance(hid, bool) or not isinstance(type_name, str):
            raise WireError("bad handle")
        return Handle(hid, type_name[:200])
    if tag in ("tensor", "ndarray"):
        if isinstance(blob, DeferredBlob):
            shape, length = _check_array(node, blob.length)
            return DeferredTensor(tag, node["dtype"], tuple(shape), length, node, blob)
        return _array_from_json(node, blob)
    raise WireError(f"unknown tag {tag!r}")


def _str_field(node: dict, key: str) -> str:
    value = node.get(key)
    if not isinstance(value, str) or len(value) > 10_000:
        raise WireError(f"bad field {key!r}")
    return value


def _check_array(node: dict, blob_len: int) -> tuple[list[int], int]:
    """(shape, byte length) of a tensor reference, checked against a blob of `blob_len` bytes."""
    dtype, shape, off, length = node.get("dtype"), node.get("shape"), node.get("off"), node.get("len")
    if dtype not in DTYPES and dtype != "bfloat16":
        raise WireError(f"dtype {dtype!r} is not allowed")
    if not isinstance(shape, list) or len(shape) > 16:
        raise WireError("bad shape")
    if not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s for s in shape):
        raise WireError("bad shape")
    if not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in (off, length)):
        raise WireError("bad blob reference")
    itemsize = 2 if dtype == "bfloat16" else DTYPES[dtype][1].itemsize
    if math.prod(shape) * itemsize != length or off + length > blob_len:
        raise WireError(f"blob reference does not match shape {shape} and dtype {dtype}")
    return shape, length


def _array_from_json(node: dict, blob: memoryview) -> torch.Tensor | np.ndarray:
    shape, _ = _check_array(node, len(blob))
    dtype, off, length = node["dtype"], node["off"], node["len"]
    raw = blob[off : off + length]  # a view: the one copy is the array's own
    if dtype == "bfloat16":
        array = np.frombuffer(raw, dtype="<i2").reshape(shape)
        return torch.from_numpy(array.copy()).view(torch.bfloat16)
    array = np.frombuffer(raw, dtype=DTYPES[dtype][1]).reshape(shape).copy()
    if node["t"] == "ndarray":
        return array
    return torch.from_numpy(array)


def read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            raise EOFError("peer closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


PREFIX_SIZE = _PREFIX.size


def parse_prefix(prefix: bytes, max_blob: int = MAX_BLOB) -> tuple[int, int]:
    """(header length, blob length) of a frame from its first PREFIX_SIZE bytes, checked."""
    magic, header_len, blob_len = _PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise WireError("bad frame magic")
    if header_len > MAX_HEADER or blob_len > max_blob:
        raise WireError(f"frame too large: header {header_len} B, blob {blob_len} B")
    return header_len, blob_len


def read_frame(stream: BinaryIO, max_blob: int = MAX_BLOB) -> Any:
    """Read and decode one frame; WireError on anything malformed, EOFError on a closed stream."""
    header_len, blob_len = parse_prefix(read_exact(stream, PREFIX_SIZE), max_blob)
    header = read_exact(stream, header_len)
    blob = read_exact(stream, blob_len)
    return decode(header, blob)
