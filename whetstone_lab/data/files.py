"""Where the online datasets' files live, and getting them there: placed, or downloaded once.

A file already in the data folder (:func:`data_dir`) is used without any network; otherwise
it is downloaded there once and checked against its published checksum before it takes its
real name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

from ..validation import describe
from .catalogue import offline_names
from .dataset import CorruptDatasetError, DatasetUnavailableError

__all__ = ["DATA_ENV", "FILES", "IDX_FILES", "data_dir", "required_files", "idx_names",
           "find_idx", "fetch", "download", "verify", "file_hash"]

#: Environment variable naming a folder of dataset files (overrides the repository's data/).
DATA_ENV = "WHETSTONE_DATA"

_KERAS_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

#: (relative path in the data folder, URL, hash algorithm, published hash) per file.
FILES: dict[str, list[tuple[str, str, str, str]]] = {
    "mnist": [
        ("mnist.npz", _KERAS_BASE + "mnist.npz", "sha256",
         "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),
    ],
    "fashion_mnist": [
        (f"fashion-mnist/{fname}", _KERAS_BASE + fname, "md5", md5)
        for fname, md5 in (
            ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
            ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
            ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
            ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        )
    ],
    "cifar10": [
        ("cifar-10-python.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
         "sha256", "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"),
    ],
    "cifar100": [
        ("cifar-100-python.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
         "sha256", "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"),
    ],
}

#: The original IDX files of the 28×28 datasets, as their own sites publish them: the
#: sub-folders of the data folder they may be placed in (``""``: the folder itself), and per
#: file, in the order the loaders read them, its stem, its IDX magic number and the SHA-256 of
#: its *decompressed* bytes (gzip headers differ between copies, the content does not).
#: Fashion-MNIST's publishers list MD5 sums of the ``.gz`` files only (:data:`FILES`), so an
#: uncompressed Fashion-MNIST file can be checked by its format alone.
IDX_FILES: dict[str, tuple[tuple[str, ...], list[tuple[str, int, str | None]]]] = {
    "mnist": (("", "mnist"), [
        ("train-labels", 2049, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
        ("train-images", 2051, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        ("t10k-labels", 2049, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
        ("t10k-images", 2051, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    ]),
    "fashion_mnist": (("fashion-mnist",), [
        ("train-labels", 2049, None), ("train-images", 2051, None),
        ("t10k-labels", 2049, None), ("t10k-images", 2051, None),
    ]),
}


def idx_names(stem: str, magic: int) -> list[str]:
    """The names one IDX file goes by, in the order they are looked for: the original
    ``train-images-idx3-ubyte`` and the ``train-images.idx3-ubyte`` of many copies, each
    gzip-compressed (``.gz``) or not."""
    rank = magic - 2048
    return [f"{stem}{sep}idx{rank}-ubyte{ext}" for sep in ("-", ".") for ext in (".gz", "")]


def _default_dir() -> Path:
    repo_data = Path(__file__).resolve().parents[2] / "data"
    if repo_data.is_dir():
        return repo_data
    return Path.home() / ".cache" / "whetstone_lab" / "data"


def data_dir() -> Path:
    """The folder of dataset files: ``$WHETSTONE_DATA`` if set, else the repository's data/.

    Outside a source checkout (no data/ next to the package) it is
    ``~/.cache/whetstone_lab/data``. The folder need not exist yet: a download creates it.

    Raises:
        DatasetUnavailableError: ``$WHETSTONE_DATA`` names something that is not a folder.
    """
    env = os.environ.get(DATA_ENV, "").strip()
    if not env:
        return _default_dir()
    path = Path(env).expanduser()
    if path.exists() and not path.is_dir():
        raise DatasetUnavailableError(
            f"${DATA_ENV} is set to {env!r}, which is a file, not a folder: set {DATA_ENV} "
            f"to a folder of dataset files (it is created if missing), or unset it to use "
            f"{_default_dir()}."
        )
    return path


def required_files(name: str) -> list[Path]:
    """The files an online dataset reads, as paths in :func:`data_dir`.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: ``name`` is not an online dataset.
    """
    online = sorted(FILES)
    if not isinstance(name, str):
        raise TypeError(f"name must be the name of an online dataset, one of {online}, got "
                        f"{describe(name)}.")
    if name not in FILES:
        raise ValueError(f"{name!r} is not an online dataset; online ones are {online}.")
    folder = data_dir()
    return [folder / rel for rel, *_ in FILES[name]]


def find_idx(name: str) -> list[Path] | None:
    """The IDX files of ``name`` placed in :func:`data_dir`, in :data:`IDX_FILES` order, or
    None when none of them is there.

    Raises:
        DatasetUnavailableError: some of the four files are there but not all.
    """
    folder = data_dir()
    subfolders, files = IDX_FILES[name]
    found, missing = [], []
    for stem, magic, _ in files:
        candidates = [folder / sub / n for sub in subfolders for n in idx_names(stem, magic)]
        hit = next((c for c in candidates if c.is_file()), None)
        if hit is None:
            missing.append(" or ".join(str(c) for c in candidates[:2]) + " (.gz or not)")
        found.append(hit)
    if not any(found):
        return None
    if missing:
        have = ", ".join(str(p) for p in found if p is not None)
        raise DatasetUnavailableError(
            f"dataset {name!r}: found the IDX file(s) {have} but not:\n  "
            + "\n  ".join(missing)
            + "\nPlace all four files of the dataset (see data/README.md)."
        )
    return found


def file_hash(path: Path, algorithm: str) -> str:
    """Hex digest of the file at ``path`` (read in blocks of 1 MiB)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, algorithm: str, expected: str) -> None:
    """Raise :class:`CorruptDatasetError` unless ``path`` has the hash ``expected``."""
    actual = file_hash(path, algorithm)
    if actual != expected:
        raise CorruptDatasetError(
            f"{path} has {algorithm} {actual} but the published file has {expected}: it is "
            "truncated, corrupt or a different file. Delete it and load again to download it, "
            "or place the right file there (load(..., verify=False) skips this check)."
        )


def download(url: str, dest: Path) -> None:
    """Fetch ``url`` into ``dest`` (a separate function so tests can replace it)."""
    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
        while block := response.read(1 << 20):
            out.write(block)


def _offline_message(name: str, missing: list[Path]) -> str:
    files = "\n".join(f"  {p}" for p in missing)
    if name in IDX_FILES:
        subfolders, idx = IDX_FILES[name]
        where = data_dir() / subfolders[0]
        files += (f"\nor the dataset's four original IDX files in {where}: "
                  + ", ".join(idx_names(stem, magic)[0] for stem, magic, _ in idx)
                  + " (compressed or not)")
    return (
        f"dataset {name!r} needs these files, which are not there and could not be "
        f"downloaded:\n{files}\nPlace them there (or in a folder named by ${DATA_ENV}); "
        f"see data/README.md for where to get them. Offline datasets that always work: "
        f"{offline_names()}."
    )


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a file in the way, no permission, read-only disk
        raise DatasetUnavailableError(
            f"cannot create the data folder {folder} ({err}); set ${DATA_ENV} to a folder "
            "you can write to, or place the dataset's files there."
        ) from err


def fetch(name: str, download_missing: bool, check: bool) -> list[Path]:
    """Paths of ``name``'s files, downloading (and verifying) missing ones.

    Args:
        name: an online dataset (a key of :data:`FILES`).
        download_missing: download files that are not in :func:`data_dir`; False raises
            :class:`DatasetUnavailableError` instead.
        check: verify the checksum of files already placed (downloads are always verified).
    """
    folder = data_dir()
    paths = []
    missing = [folder / rel for rel, *_ in FILES[name] if not (folder / rel).is_file()]
    if missing and not download_missing:
        raise DatasetUnavailableError(_offline_message(name, missing))
    for rel, url, algorithm, expected in FILES[name]:
        path = folder / rel
        if not path.is_file():
            _make_folder(path.parent)
            # A fresh, exclusively created name: a ``.part`` file of the user's own is never
            # overwritten or deleted.
            handle, name_ = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".",
                                             suffix=".part")
            os.close(handle)
            partial = Path(name_)
            try:
                try:
                    download(url, partial)
                except OSError as err:  # URLError, timeouts, no route: all OSErrors
                    raise DatasetUnavailableError(
                        _offline_message(name, missing) + f"\n(download of {url} failed: {err})"
                    ) from err
                verify(partial, algorithm, expected)  # before it takes the real name
                partial.replace(path)
            finally:  # failed, refused or interrupted: the half-written file goes
                partial.unlink(missing_ok=True)
        elif check:
            verify(path, algorithm, expected)
        paths.append(path)
    return paths
