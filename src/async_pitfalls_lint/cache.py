"""The on-disk cache: authenticated plain-data entries, outside the checked project by default.

The cache must be safe to use on untrusted code (pre-commit and CI run us on pull requests), so:

- entries are data, never code: JSON rebuilt into the tool's own records by `codec.Codec`,
  which validates every field; nothing read from disk is unpickled or evaluated;
- entries are authenticated with a secret of the user's own (`cache-key` in the user config
  folder, created 0600 and never inside a project), over the project root, the record kind, the
  key and the payload: a planted, forged, truncated or copied entry is a miss, never a fact;
- the default cache lives in the user cache folder, one folder per project root; `cache-dir`
  puts it elsewhere (inside the project, for a CI cache step) with the same guarantees;
- entries are read without following symbolic links, and a cache folder that is a symbolic link
  or belongs to another user is not used.

Entries are keyed by a hash of the file's bytes (or of the project state) and live in a folder
named after the tool version, the entry format and a hash of the package's code and data, so a
new build never reads an old entry. Writes go to a temporary file that is atomically renamed, so
a killed run or two concurrent runs never leave a partial entry. A cache that cannot be used
turns caching off with one warning on standard error.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import os
import secrets
import stat
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import TypeVar

import platformdirs

from async_pitfalls_lint import __version__
from async_pitfalls_lint.codec import Codec, CodecError

CACHE_DIR_NAME = ".async_pitfalls_lint_cache"
APP_NAME = "async-pitfalls-lint"
SECRET_FILE = "cache-key"
_FORMAT = 3
_MAGIC = b"APLC3\n"
_MAC_SIZE = 32
_HEADER = len(_MAGIC) + 2 * _MAC_SIZE + 1
_SECRET_SIZE = 32
_MAX_ENTRY_BYTES = 512 * 1024 * 1024
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_POSIX = hasattr(os, "getuid")
_warned: set[str] = set()  # cache folders already warned about, once per process

T = TypeVar("T")


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


# -- where the cache and its secret live -------------------------------------------------------
def user_cache_root() -> Path:
    return platformdirs.user_cache_path(APP_NAME, appauthor=False)


def secret_path() -> Path:
    return platformdirs.user_config_path(APP_NAME, appauthor=False) / SECRET_FILE


def default_cache_dir(project_root: str) -> Path:
    """The project's folder in the user cache: named after the root, so two checkouts of one
    project never share entries, and readable (`shop-1a2b...`) for a user who looks."""
    root = os.path.abspath(project_root)
    digest = hashlib.blake2b(root.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in os.path.basename(root))
    return user_cache_root() / "projects" / f"{name[:40] or 'root'}-{digest}"


class CacheUnusable(Exception):
    """The cache or its secret cannot be trusted or written; caching is turned off."""


def _secure_file(descriptor: int, what: str) -> os.stat_result:
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        raise CacheUnusable(f"{what} is not a regular file")
    if _POSIX and info.st_uid != os.getuid():
        raise CacheUnusable(f"{what} belongs to another user")
    return info


def _read_secret(path: Path) -> bytes | None:
    """The user's cache secret, None when there is none yet (raises CacheUnusable if unsafe)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise CacheUnusable(f"cannot read {path}: {error.strerror or error}") from None
    try:
        info = _secure_file(descriptor, str(path))
        if _POSIX and info.st_mode & 0o077:
            raise CacheUnusable(f"{path} can be read by other users (expected mode 0600)")
        data = os.read(descriptor, 4 * _SECRET_SIZE)
    finally:
        os.close(descriptor)
    try:
        secret = bytes.fromhex(data.decode("ascii").strip())
    except ValueError:
        secret = b""
    if len(secret) != _SECRET_SIZE:
        raise CacheUnusable(f"{path} is not a cache secret")
    return secret


def _create_secret(path: Path) -> bytes:
    """Write a new secret, created 0600; when two processes race, both use the one that won."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        try:
            os.chmod(temporary, 0o600)
            os.write(descriptor, secrets.token_hex(_SECRET_SIZE).encode("ascii") + b"\n")
            os.close(descriptor)
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)  # never replaces a secret another process wrote
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
    except OSError as error:
        raise CacheUnusable(f"cannot write {path}: {error.strerror or error}") from None
    secret = _read_secret(path)
    if secret is None:
        raise CacheUnusable(f"cannot write {path}")
    return secret


# -- the cache ------------------------------------------------------------------------------------
class DiskCache:
    """Authenticated entries for one project (`namespace`: its root) in one folder."""

    def __init__(self, directory: Path, namespace: str, secret_file: Path | None = None) -> None:
        self.base = directory
        self.directory = directory / f"v{__version__}-f{_FORMAT}-{_data_fingerprint()}"
        self.namespace = namespace
        self.secret_file = secret_file if secret_file is not None else secret_path()
        self.enabled = True
        self.warning: str | None = None
        self._prepared = False
        self._secret: bytes | None = None
        self._secret_read = False

    # -- the secret and the folder ----------------------------------------------------------------
    def _key(self, create: bool) -> bytes | None:
        if self._secret is None and (create or not self._secret_read):
            self._secret_read = True
            try:
                self._secret = _read_secret(self.secret_file)
                if self._secret is None and create:
                    self._secret = _create_secret(self.secret_file)
            except CacheUnusable as error:
                self._disable(str(error))
        return self._secret if self.enabled else None

    def _prepare(self) -> None:
        self._prepared = True
        try:
            created = not os.path.lexists(self.base)
            for folder in (self.base, self.directory):
                folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                _check_folder(folder)
            if created:  # never drop a `.gitignore` into a folder the configuration named
                for name, content in _MARKERS.items():
                    _atomic_write(self.base / name, content)
        except CacheUnusable as error:
            self._disable(str(error))
        except OSError as error:
            self._disable(f"cannot write to {self.base}: {error.strerror or error}")

    def _disable(self, reason: str) -> None:
        self.enabled = False
        self.warning = f"cache disabled: {reason}"
        if str(self.base) not in _warned:
            _warned.add(str(self.base))
            print(f"async-pitfalls-lint: warning: {self.warning}", file=sys.stderr)

    def _entry(self, key: str, kind: str) -> Path:
        name = key if key.startswith(f"{kind}-") else f"{kind}-{key}"
        return self.directory / f"{name}.json"

    def _mac(self, secret: bytes, key: str, kind: str, payload: bytes) -> bytes:
        context = f"{self.namespace}\0{kind}\0{key}\0".encode("utf-8", "surrogateescape")
        digest = hashlib.blake2b(key=secret, digest_size=_MAC_SIZE, person=b"apl-cache-3")
        digest.update(context)
        digest.update(payload)
        return digest.hexdigest().encode("ascii")

    # -- entries --------------------------------------------------------------------------------
    def get(self, key: str, codec: Codec[T]) -> T | None:
        """The entry written for `key` by this user for this project, or None."""
        payload = self.get_bytes(key, codec.name)
        if payload is None:
            return None
        try:
            return codec.loads(payload)
        except CodecError:
            return None

    def put(self, key: str, codec: Codec[T], value: T) -> None:
        if not self.enabled:
            return
        try:
            payload = codec.dumps(value)
        except (TypeError, ValueError, RecursionError):  # what cannot be written is not cached
            return
        self.put_bytes(key, codec.name, payload)

    def get_bytes(self, key: str, kind: str) -> bytes | None:
        """The authenticated payload of an entry of `kind`, or None (absent, forged, damaged)."""
        if not self.enabled:
            return None
        data = _read_entry(self._entry(key, kind))
        if data is None or len(data) < _HEADER or not data.startswith(_MAGIC):
            return None
        secret = self._key(create=False)
        if secret is None:
            return None
        mac, payload = data[len(_MAGIC) : _HEADER - 1], data[_HEADER:]
        if data[_HEADER - 1 : _HEADER] != b"\n" or not hmac.compare_digest(
            mac, self._mac(secret, key, kind, payload)
        ):
            return None  # planted, forged, damaged or from another project: a miss
        return payload

    def put_bytes(self, key: str, kind: str, payload: bytes) -> None:
        if not self.enabled:
            return
        if not self._prepared:
            self._prepare()
        secret = self._key(create=True)
        if secret is None:
            return
        entry = _MAGIC + self._mac(secret, key, kind, payload) + b"\n" + payload
        try:
            _atomic_write(self._entry(key, kind), entry)
        except OSError as error:
            self._disable(f"cannot write to {self.base}: {error.strerror or error}")

    def get_bundle(self, key: str, kind: str) -> Bundle | None:
        """An entry written by `put_bundle`, whose parts are decoded only when asked for."""
        payload = self.get_bytes(key, kind)
        return Bundle.parse(payload) if payload is not None else None

    def put_bundle(self, key: str, kind: str, parts: dict[str, bytes]) -> None:
        self.put_bytes(key, kind, Bundle.join(parts))

    # -- one process derives, the others wait -------------------------------------------------
    def has(self, key: str, kind: str) -> bool:
        """Whether an entry exists (unchecked: `get` may still refuse it)."""
        return self.enabled and os.path.isfile(self._entry(key, kind))

    def try_lock(self, key: str) -> BuildLock | None:
        """Take the lock for deriving entry `key`, or None when a live process holds it (or
        the cache is off). A lock left by a process that died is taken over."""
        if not self.enabled:
            return None
        if not self._prepared:
            self._prepare()
        path = self.directory / f"{key}.lock"
        for _ in range(2):
            lock = BuildLock.create(path)
            if lock is not None:
                return lock
            if BuildLock.held(path):
                return None
            BuildLock.remove_stale(path)
        return None

    def locked(self, key: str) -> bool:
        """Whether a live process holds the lock for deriving entry `key`."""
        return self.enabled and BuildLock.held(self.directory / f"{key}.lock")


class BuildLock:
    """A lock file created with O_EXCL, holding its owner's process id: the first process that
    needs a large derived entry (the event-loop index) builds it and the others wait for it,
    instead of each building it (flake8 workers, two CLI runs at once). A lock whose owner is
    gone (killed) or that is older than `MAX_AGE` (a process id reused) is stale."""

    MAX_AGE = 900.0

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, path: Path) -> BuildLock | None:
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        except FileExistsError:
            return None
        except OSError:
            return None  # an unwritable cache: no lock, and no wait either (see held)
        try:
            os.write(descriptor, f"{os.getpid()}\n".encode("ascii"))
        finally:
            os.close(descriptor)
        return cls(path)

    @classmethod
    def held(cls, path: Path) -> bool:
        try:
            info = os.lstat(path)
            with open(path, "rb") as handle:
                owner = int(handle.read(32).strip() or b"0")
        except (OSError, ValueError):
            return False
        if not stat.S_ISREG(info.st_mode) or time.time() - info.st_mtime > cls.MAX_AGE:
            return False
        return owner > 0 and _alive(owner)

    @staticmethod
    def remove_stale(path: Path) -> None:
        with contextlib.suppress(OSError):
            os.unlink(path)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def _alive(pid: int) -> bool:
    if not _POSIX:
        return True  # no cheap check: trust the lock until it is old
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class Bundle:
    """Named parts of one authenticated entry, each a payload of its own (a Codec's bytes).

    A large derived record (the project's event-loop index) is read on every run, but a run
    that checks one file needs a few of its parts: the entry is authenticated as a whole, and
    each part is decoded when first asked for. The layout is a JSON line naming each part's
    offset and length, then the parts' bytes."""

    def __init__(self, spans: dict[str, tuple[int, int]], body: bytes) -> None:
        self._spans = spans
        self._body = body

    @staticmethod
    def join(parts: dict[str, bytes]) -> bytes:
        spans: dict[str, list[int]] = {}
        offset = 0
        for name, part in parts.items():
            spans[name] = [offset, len(part)]
            offset += len(part)
        head = json.dumps(spans, separators=(",", ":")).encode("ascii")
        return head + b"\n" + b"".join(parts.values())

    @classmethod
    def parse(cls, payload: bytes) -> Bundle | None:
        head, newline, body = payload.partition(b"\n")
        try:
            spans = json.loads(head) if newline else None
        except (ValueError, RecursionError):
            return None
        if type(spans) is not dict:
            return None
        checked: dict[str, tuple[int, int]] = {}
        for name, span in spans.items():
            if (
                type(span) is not list
                or len(span) != 2
                or not all(type(item) is int and item >= 0 for item in span)
                or span[0] + span[1] > len(body)
            ):
                return None
            checked[name] = (span[0], span[1])
        return cls(checked, body)

    def names(self) -> list[str]:
        return list(self._spans)

    def raw(self, name: str) -> bytes | None:
        span = self._spans.get(name)
        if span is None:
            return None
        return self._body[span[0] : span[0] + span[1]]

    def part(self, name: str, codec: Codec[T]) -> T | None:
        """One part, decoded and validated (None when absent or not of the codec's shape)."""
        raw = self.raw(name)
        if raw is None:
            return None
        try:
            return codec.loads(raw)
        except CodecError:
            return None


_MARKERS = {
    ".gitignore": b"# created by async-pitfalls-lint\n*\n",
    "CACHEDIR.TAG": b"Signature: 8a477f597d28d172789f06886806bc55\n"
    b"# This is a cache directory created by async-pitfalls-lint.\n",
}


def _check_folder(folder: Path) -> None:
    info = os.lstat(folder)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise CacheUnusable(f"{folder} is a symbolic link or not a folder")
    if _POSIX and info.st_uid != os.getuid():
        raise CacheUnusable(f"{folder} belongs to another user")


def _read_entry(path: Path) -> bytes | None:
    try:
        descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY)
    except OSError:
        return None  # absent, unreadable, or a symbolic link
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_ENTRY_BYTES:
            return None
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return handle.read()
    except OSError:
        return None
    finally:
        os.close(descriptor)


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
