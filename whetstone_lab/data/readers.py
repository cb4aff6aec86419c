"""Safe readers of the online datasets' file formats: IDX, npz, tar.gz members, pickles.

Every reader bounds what it reads (sizes, numbers of items, nesting), so a truncated,
corrupt or hostile file gives a :class:`CorruptDatasetError` naming the file, never a crash
deep inside NumPy, a huge allocation or code run from a pickle.

CIFAR's batches are Python pickles. They are read in two steps. First every opcode is
checked (:data:`MAX_PICKLE_OPS` at most; no opcode that builds instances of classes), then
a restricted unpickler runs in which the only callables are stand-ins that *record* arrays,
dtypes and bytes instead of letting NumPy build them from untrusted state. Last, the result
is copied into plain dicts, lists and arrays, counting every reference to a shared list
again, so a small pickle of nested shared lists is refused before it is ever expanded.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import pickle
import pickletools
import tarfile
import zipfile
from pathlib import Path

import numpy as np

from .dataset import CorruptDatasetError

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_PICKLE_OPS",
    "MAX_PICKLE_ITEMS",
    "MAX_PICKLE_DEPTH",
    "SafeUnpickler",
    "read_npz",
    "read_idx",
    "read_tar_members",
    "safe_unpickle",
]

#: Most bytes one dataset file (or archive member) may hold once decompressed.
MAX_FILE_BYTES = 256 * 2**20
#: Most opcodes one pickle may have (CIFAR-100's train batch has about 500,000).
MAX_PICKLE_OPS = 2_000_000
#: Most items in all containers of one pickle, a shared list counted at every reference.
MAX_PICKLE_ITEMS = 1_000_000
#: Deepest nesting of containers in one pickle (CIFAR: a dict of lists of bytes is 2).
MAX_PICKLE_DEPTH = 4


def _too_big(path: Path | str, size: int) -> CorruptDatasetError:
    return CorruptDatasetError(
        f"{path} would decompress to {size:,} bytes, more than the {MAX_FILE_BYTES:,} any file "
        "of these datasets has; it is not a dataset file."
    )


# ----------------------------------------------------------------------------------------
# npz and IDX
# ----------------------------------------------------------------------------------------
def read_npz(path: Path, keys: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    """The arrays ``keys`` of the npz file at ``path``, never unpickling anything."""
    try:
        with zipfile.ZipFile(path) as archive:
            size = sum(info.file_size for info in archive.infolist())
        if size > MAX_FILE_BYTES:
            raise _too_big(path, size)
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in keys if k not in f.files]
            if missing:
                raise CorruptDatasetError(f"{path} lacks the arrays {missing}; expected {keys}.")
            return tuple(np.asarray(f[k]) for k in keys)
    except CorruptDatasetError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as err:
        raise CorruptDatasetError(
            f"{path} is not a readable {path.name} (truncated or corrupt: {err}). Delete it "
            "and load again, or place a good copy there."
        ) from err


def read_idx(path: Path, magic: int, sha256: str | None = None) -> np.ndarray:
    """An IDX file, gzip-compressed or not: labels (magic 2049, rank 1) or images (magic
    2051, rank 3).

    Args:
        path: the file; gzip is recognised by its first two bytes, not by the name.
        magic: the IDX magic number the file must start with.
        sha256: if given, the SHA-256 the *decompressed* bytes must have (gzip headers differ
            between copies of the same data, the content does not).
    """
    compressed = False
    try:
        with open(path, "rb") as f:
            compressed = f.read(2) == b"\x1f\x8b"
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        kind = "gzip file" if compressed else "file"
        raise CorruptDatasetError(
            f"{path} is not a readable {kind} ({err}): it is truncated or corrupt. Replace it "
            "with a good copy (data/README.md says where to get it)."
        ) from err
    if len(raw) > MAX_FILE_BYTES:
        raise _too_big(path, len(raw))
    if sha256 is not None and (actual := hashlib.sha256(raw).hexdigest()) != sha256:
        raise CorruptDatasetError(
            f"{path}: its {'decompressed ' if compressed else ''}bytes have sha256 {actual}, "
            f"but the published file has {sha256}: it is truncated, corrupt or a different "
            "file. Replace it with a good copy (data/README.md says where to get it), or load "
            "with verify=False to skip this check."
        )
    rank = magic - 2048
    header = 4 + 4 * rank
    if len(raw) < header or int.from_bytes(raw[:4], "big") != magic:
        raise CorruptDatasetError(
            f"{path} does not start with the IDX header {magic}: it is not this dataset's "
            f"{'labels' if rank == 1 else 'images'} file.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank))
    if len(raw) - header != math.prod(shape):
        raise CorruptDatasetError(
            f"{path}: header promises {shape} = {math.prod(shape)} bytes of data, found "
            f"{len(raw) - header}; the file is truncated or corrupt."
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


# ----------------------------------------------------------------------------------------
# tar.gz members
# ----------------------------------------------------------------------------------------
def read_tar_members(path: Path, wanted: list[str]) -> dict[str, bytes]:
    """The regular-file members ``wanted`` of the .tar.gz at ``path``, read in memory.

    Nothing is extracted to disk; links, devices and members not asked for are skipped.
    """
    try:
        with tarfile.open(path, "r:gz") as tar:
            found = {}
            for member in tar:
                if member.isfile() and member.name in wanted:
                    if member.size > MAX_FILE_BYTES:
                        raise _too_big(f"{path}:{member.name}", member.size)
                    found[member.name] = tar.extractfile(member).read()
                    if len(found) == len(set(wanted)):
                        break
    except CorruptDatasetError:
        raise
    except (tarfile.TarError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise CorruptDatasetError(
            f"{path} is not a readable .tar.gz (truncated or corrupt: {err}). Delete it and "
            "load again, or place a good copy there."
        ) from err
    missing = [w for w in wanted if w not in found]
    if missing:
        raise CorruptDatasetError(f"{path} lacks the members {missing}.")
    return found


# ----------------------------------------------------------------------------------------
# Pickles
# ----------------------------------------------------------------------------------------
#: Opcodes that build instances of arbitrary classes, extensions, persistent ids, sets or
#: out-of-band buffers: none of them occur in a dataset batch.
_REFUSED_OPS = frozenset({
    "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "EXT1", "EXT2", "EXT4", "PERSID", "BINPERSID",
    "EMPTY_SET", "ADDITEMS", "FROZENSET", "BYTEARRAY8", "NEXT_BUFFER", "READONLY_BUFFER",
})


def _scan_opcodes(data: bytes) -> None:
    """Refuse a pickle with too many opcodes or one of :data:`_REFUSED_OPS`."""
    for count, (op, _arg, pos) in enumerate(pickletools.genops(data)):
        if count >= MAX_PICKLE_OPS:
            raise pickle.UnpicklingError(
                f"more than {MAX_PICKLE_OPS:,} opcodes; a dataset batch has far fewer")
        if op.name in _REFUSED_OPS:
            raise pickle.UnpicklingError(
                f"opcode {op.name} at byte {pos} builds objects dataset files never hold")


class _DtypeRecord:
    """Stands for a ``numpy.dtype`` while unpickling: only simple numeric dtypes resolve."""

    __slots__ = ("spec", "order")

    def __init__(self, spec):
        if isinstance(spec, bytes):
            spec = spec.decode("latin1")
        if not isinstance(spec, str) or len(spec) > 8:
            raise pickle.UnpicklingError(f"unexpected dtype {spec!r}")
        self.spec, self.order = spec, "|"

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) < 2 or any(
                part is not None for part in state[2:5]):
            raise pickle.UnpicklingError("dtypes with fields or sub-arrays are not accepted")
        order = state[1].decode("latin1") if isinstance(state[1], bytes) else state[1]
        if order not in ("<", ">", "=", "|"):
            raise pickle.UnpicklingError(f"unexpected byte order {order!r}")
        self.order = order

    def resolve(self) -> np.dtype:
        try:
            dtype = np.dtype(self.spec)
        except TypeError as err:
            raise pickle.UnpicklingError(f"unexpected dtype {self.spec!r}") from err
        if dtype.kind not in "biuf":
            raise pickle.UnpicklingError(
                f"only numeric arrays are accepted, not dtype {self.spec!r}")
        return dtype.newbyteorder(self.order) if self.order in "<>" else dtype


class _ArrayRecord:
    """Stands for an array while unpickling; :meth:`__setstate__` checks and builds it."""

    __slots__ = ("array",)

    def __init__(self):
        self.array = None

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError("unexpected array state")
        shape, dtype, fortran, raw = state[-4:]
        if not (isinstance(shape, tuple) and len(shape) <= 8 and all(
                type(d) is int and d >= 0 for d in shape)):
            raise pickle.UnpicklingError(f"unexpected array shape {shape!r}")
        if not isinstance(dtype, _DtypeRecord):
            raise pickle.UnpicklingError("arrays must hold a numeric dtype")
        dtype = dtype.resolve()
        if not isinstance(raw, bytes):
            raise pickle.UnpicklingError("arrays must hold their data as raw bytes")
        if math.prod(shape) * dtype.itemsize != len(raw):
            raise pickle.UnpicklingError(
                f"array of shape {shape} and dtype {dtype} needs "
                f"{math.prod(shape) * dtype.itemsize} bytes, found {len(raw)}")
        # Read-only, sharing the bytes: the readers copy when they convert.
        self.array = np.frombuffer(raw, dtype).reshape(shape, order="F" if fortran else "C")


# The globals a pickle may name resolve to these stand-ins: instances without attributes,
# so that a BUILD opcode cannot change them, and that check their arguments.
class _StandIn:
    __slots__ = ()


class _Ndarray(_StandIn):
    """``numpy.ndarray``, only as the argument of ``_reconstruct``."""

    __slots__ = ()


class _Dtype(_StandIn):
    """``numpy.dtype(spec, align, copy)``."""

    __slots__ = ()

    def __call__(self, spec, align=False, copy=False):
        return _DtypeRecord(spec)


class _Reconstruct(_StandIn):
    """``numpy.core.multiarray._reconstruct(ndarray, shape, typecode)``."""

    __slots__ = ()

    def __call__(self, cls, shape, typecode):
        if not isinstance(cls, _Ndarray):
            raise pickle.UnpicklingError("only plain numpy.ndarray objects are accepted")
        return _ArrayRecord()


class _Scalar(_StandIn):
    """``numpy.core.multiarray.scalar(dtype, raw)``, as a Python int or float."""

    __slots__ = ()

    def __call__(self, dtype, raw):
        if not isinstance(dtype, _DtypeRecord) or not isinstance(raw, bytes):
            raise pickle.UnpicklingError("a NumPy scalar must hold a numeric dtype and bytes")
        dtype = dtype.resolve()
        if len(raw) != dtype.itemsize:
            raise pickle.UnpicklingError(f"a {dtype} scalar needs {dtype.itemsize} bytes")
        return np.frombuffer(raw, dtype)[0].item()


class _Latin1(_StandIn):
    """``_codecs.encode`` as protocol-2 pickles use it: bytes spelt as latin-1 text."""

    __slots__ = ()

    def __call__(self, text, encoding="latin1"):
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            raise pickle.UnpicklingError("_codecs.encode is only accepted to spell bytes")
        return text.encode("latin1")


class SafeUnpickler(pickle.Unpickler):
    """Unpickles only plain containers, numbers, strings, bytes and numeric NumPy arrays.

    CIFAR's batches are pickled dicts of lists, bytes and a uint8 array. Any other global
    (a function, a class with side effects) is refused, so a tampered file cannot run code,
    and the NumPy globals it accepts are replaced by stand-ins that check the state first.
    Use :func:`safe_unpickle`, which also bounds the size and nesting of the result.
    """

    _STAND_INS = {
        ("numpy", "ndarray"): _Ndarray(),
        ("numpy", "dtype"): _Dtype(),
        ("numpy.core.multiarray", "_reconstruct"): _Reconstruct(),
        ("numpy._core.multiarray", "_reconstruct"): _Reconstruct(),
        ("numpy.core.multiarray", "scalar"): _Scalar(),
        ("numpy._core.multiarray", "scalar"): _Scalar(),
        # Python 3's protocol-2 pickles spell bytes as _codecs.encode(str, "latin1").
        ("_codecs", "encode"): _Latin1(),
    }

    def find_class(self, module, name):
        if (module, name) in self._STAND_INS:
            return self._STAND_INS[module, name]
        raise pickle.UnpicklingError(
            f"refusing to unpickle {module}.{name}: only dicts, lists, bytes, numbers and "
            "NumPy arrays are accepted in dataset files."
        )


class _Budget:
    """Counts the items of the containers met, shared ones again at every reference."""

    def __init__(self):
        self.items = 0

    def spend(self, n: int) -> None:
        self.items += n
        if self.items > MAX_PICKLE_ITEMS:
            raise pickle.UnpicklingError(
                f"more than {MAX_PICKLE_ITEMS:,} items in its lists and dicts (shared lists "
                "counted at every reference); a dataset batch has far fewer")


_LEAVES = frozenset({bytes, str, int, float, bool, type(None)})


def _plain(obj, depth: int, budget: _Budget):
    """``obj`` as plain dicts, lists, tuples, scalars and arrays, bounded in size and depth."""
    if isinstance(obj, (bytes, str, int, float, type(None))):  # bool is an int
        return obj
    if isinstance(obj, _ArrayRecord):
        if obj.array is None:
            raise pickle.UnpicklingError("an array without its data")
        return obj.array
    if not isinstance(obj, (dict, list, tuple)):
        raise pickle.UnpicklingError(f"unexpected object of type {type(obj).__name__}")
    if depth >= MAX_PICKLE_DEPTH:
        raise pickle.UnpicklingError(
            f"containers nested more than {MAX_PICKLE_DEPTH} deep; a dataset batch is flat")
    budget.spend(len(obj))
    if isinstance(obj, list) and all(type(item) in _LEAVES for item in obj):
        return list(obj)  # the common case (labels, file names), without a call per item
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if not isinstance(key, (bytes, str, int)):
                raise pickle.UnpicklingError(f"unexpected dict key of type {type(key).__name__}")
            out[key] = _plain(value, depth + 1, budget)
        return out
    items = [_plain(item, depth + 1, budget) for item in obj]
    return items if isinstance(obj, list) else tuple(items)


def safe_unpickle(data: bytes, source: str) -> dict:
    """The pickled dict in ``data`` (string keys), read safely; ``source`` names it in errors.

    Raises:
        CorruptDatasetError: ``data`` is not a pickled dict of plain data, or is unsafe,
            too large or too deeply nested.
    """
    try:
        _scan_opcodes(data)
        obj = _plain(SafeUnpickler(io.BytesIO(data), encoding="bytes").load(), 0, _Budget())
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, OverflowError, MemoryError, RecursionError) as err:
        raise CorruptDatasetError(f"{source}: cannot read this batch safely ({err}).") from err
    if not isinstance(obj, dict):
        raise CorruptDatasetError(f"{source}: expected a pickled dict, got {type(obj).__name__}.")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}
