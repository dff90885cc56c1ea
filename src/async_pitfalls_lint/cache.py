"""Content-addressed on-disk cache of module facts.

Entries are keyed by a hash of the file's bytes, and live in a folder named after the tool
version and a hash of the packaged data, so a new version never reads an old entry. Writes go
to a temporary file that is atomically renamed, so a killed run or two concurrent runs never
leave a partial entry. Each entry starts with a magic tag, its key and a digest of its payload:
a truncated, damaged or foreign file reads as a miss (and is rewritten), never as facts. A cache
folder that cannot be written turns caching off with one warning on standard error.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import sys
import tempfile
from importlib import resources
from pathlib import Path

from async_pitfalls_lint import __version__

CACHE_DIR_NAME = ".async_pitfalls_lint_cache"
_FORMAT = 2
_MAGIC = b"APLC\x02"
_DIGEST_SIZE = 16
_warned: set[str] = set()  # cache folders already warned about, once per process


def content_key(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


@functools.cache
def _data_fingerprint() -> str:
    """What cached entries depend on besides the files: the package's code and data.

    Cached indexes and whole-run results are derived by most modules, so an edited checkout
    (an editable install between releases) must never read entries an older build wrote."""
    digest = hashlib.blake2b(digest_size=8)
    package = Path(str(resources.files("async_pitfalls_lint")))
    for source in sorted(package.rglob("*")):
        if source.suffix in (".py", ".toml") and source.is_file():
            digest.update(source.relative_to(package).as_posix().encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()


class DiskCache:
    def __init__(self, directory: Path) -> None:
        self.base = directory
        self.directory = directory / f"v{__version__}-f{_FORMAT}-{_data_fingerprint()}"
        self.enabled = True
        self.warning: str | None = None
        self._prepared = False

    def _prepare(self) -> None:
        self._prepared = True
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            ignore = self.base / ".gitignore"
            if not ignore.exists():
                _atomic_write(ignore, b"# created by async-pitfalls-lint\n*\n")
            tag = self.base / "CACHEDIR.TAG"
            if not tag.exists():
                _atomic_write(
                    tag,
                    b"Signature: 8a477f597d28d172789f06886806bc55\n"
                    b"# This is a cache directory created by async-pitfalls-lint.\n",
                )
        except OSError as error:
            self._disable(error)

    def _disable(self, error: OSError) -> None:
        self.enabled = False
        self.warning = f"cache disabled: cannot write to {self.base}: {error.strerror or error}"
        if str(self.base) not in _warned:
            _warned.add(str(self.base))
            print(f"async-pitfalls-lint: warning: {self.warning}", file=sys.stderr)

    def _entry(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.pickle"

    def get(self, key: str) -> object | None:
        if not self.enabled:
            return None
        try:
            with open(self._entry(key), "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        payload = _unwrap(key, data)
        if payload is None:  # truncated, damaged or foreign: a miss, rewritten by put()
            return None
        try:
            value: object = pickle.loads(payload)
        except Exception:  # classes renamed under the same fingerprint: a miss as well
            return None
        return value

    def put(self, key: str, value: object) -> None:
        if not self.enabled:
            return
        if not self._prepared:
            self._prepare()
            if not self.enabled:
                return
        entry = self._entry(key)
        try:
            entry.parent.mkdir(exist_ok=True)
            payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            _atomic_write(entry, _wrap(key, payload))
        except OSError as error:
            self._disable(error)


def _digest(key: str, payload: bytes) -> bytes:
    return hashlib.blake2b(
        payload, digest_size=_DIGEST_SIZE, person=b"apl-cache", key=key.encode()[:64]
    ).digest()


def _wrap(key: str, payload: bytes) -> bytes:
    return _MAGIC + _digest(key, payload) + payload


def _unwrap(key: str, data: bytes) -> bytes | None:
    """The payload of an entry written for `key`, or None when it is not exactly that."""
    start = len(_MAGIC) + _DIGEST_SIZE
    if len(data) < start or not data.startswith(_MAGIC):
        return None
    payload = data[start:]
    if data[len(_MAGIC) : start] != _digest(key, payload):
        return None
    return payload


def _atomic_write(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
