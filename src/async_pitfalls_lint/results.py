"""Each checked file's result, kept across runs and reused while what it depends on holds.

A file's findings are derived from its own content and from the facts of the project's other
files (resolution, handlers, chains). A result is stored with

- the file's content key and what else its key is made of (settings, working folder, the line
  length its fixes were laid out for);
- the project's facts digest (`Project.facts_digest`): every file's facts, positions left out
  for files that may hold event-loop code, so an edit that only moves code there keeps it;
- the content keys of the other files its chains show a position in (a chain step names a
  line of a helper in another file).

A run reuses a result when all three still hold, and checks the file again otherwise. After an
edit that changes no facts but positions (the usual edit of a comment, a blank line, a moved
block), `check .` re-checks the edited file alone; after an edit that changes facts, every file
is checked again (a finer dependency per result is future work, see docs/performance.md).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from async_pitfalls_lint.analysis import Analysis
from async_pitfalls_lint.cache import Bundle
from async_pitfalls_lint.codec import Codec
from async_pitfalls_lint.fixes.layout import line_length_for
from async_pitfalls_lint.model import FileResult

# The file's content key and line length, the facts digest, [(other file, its content key)],
# and the result.
_Stored = tuple[str, int, str, list[tuple[str, str]], FileResult]
RESULT_CODEC: Codec[_Stored] = Codec("result", _Stored)
RESULTS_KIND = "results"


@dataclass
class ResultStore:
    """Per-file results of one project's analysis, for one way of reporting them (`flavour`:
    the CLI stores results with `# noqa` applied and paths as shown, flake8 as the plugin
    yields them). The CLI keeps one bundle (cache.Bundle) per settings and working folder, a
    part per file, read once and written once per run; flake8 runs the plugin file by file in
    several processes, so it keeps one entry per file (`per_file`)."""

    analysis: Analysis
    flavour: str = "cli"
    per_file: bool = False
    _bundle: Bundle | None = None
    _read: bool = False
    _new: dict[str, bytes] = field(default_factory=dict)
    _digest: str | None = None
    _digest_generation: int | None = None

    @classmethod
    def open(
        cls, analysis: Analysis, flavour: str = "cli", per_file: bool = False
    ) -> ResultStore | None:
        if analysis.project.cache is None:
            return None
        return cls(analysis, flavour, per_file)

    def _key(self, path: str = "") -> str:
        """The bundle's key, or with `path` the key of that file's own entry (per_file)."""
        digest = hashlib.blake2b(digest_size=20)
        digest.update(repr((self.flavour, self.analysis.settings, os.getcwd(), path)).encode())
        kind = RESULT_CODEC.name if path else RESULTS_KIND
        return f"{kind}-{digest.hexdigest()}"

    def _part(self, path: str) -> _Stored | None:
        if self.per_file:
            cache = self.analysis.project.cache
            return cache.get(self._key(path), RESULT_CODEC) if cache is not None else None
        bundle = self._stored()
        return bundle.part(path, RESULT_CODEC) if bundle is not None else None

    def _stored(self) -> Bundle | None:
        if not self._read:
            self._read = True
            cache = self.analysis.project.cache
            self._bundle = cache.get_bundle(self._key(), RESULTS_KIND) if cache else None
        return self._bundle

    def _facts_digest(self) -> str | None:
        project = self.analysis.project
        if self._digest_generation != project.generation:  # new content was handed over
            self._digest_generation = project.generation
            extra = repr((self.analysis.environment.description, os.getcwd()))
            self._digest = project.facts_digest(extra)
        return self._digest

    def get(self, path: str) -> FileResult | None:
        """The stored result of a file, when everything it was derived from still holds."""
        path = os.path.abspath(path)
        stored = self._part(path)
        if stored is None:
            return None
        content, length, digest, others, result = stored
        project = self.analysis.project
        if content != project.file_key(path) or length != line_length_for(path):
            return None
        # The facts digest costs a look at every file: only worth it when there is a result.
        if digest != self._facts_digest():
            return None
        if any(project.file_key(other) != key for other, key in others):
            return None
        return result

    def put(self, path: str, result: FileResult) -> None:
        path = os.path.abspath(path)
        project = self.analysis.project
        content = project.file_key(path)
        digest = self._facts_digest()
        if content is None or digest is None:
            return
        others: dict[str, str] = {}
        for finding in result.findings:
            for step in finding.chain:
                other = os.path.abspath(step.path)  # shown relative to the working folder
                if other != path and other not in others:
                    key = project.file_key(other)
                    if key is None:
                        return  # a file the chain shows cannot be read now: keep nothing
                    others[other] = key
        stored = (content, line_length_for(path), digest, sorted(others.items()), result)
        cache = project.cache
        if self.per_file and cache is not None:
            cache.put(self._key(path), RESULT_CODEC, stored)
        else:
            self._new[path] = RESULT_CODEC.dumps(stored)

    def save(self) -> None:
        """Write the bundle with this run's new results, when there are any."""
        cache = self.analysis.project.cache
        if not self._new or cache is None:
            return
        bundle = self._stored()
        parts = {name: bundle.raw(name) or b"" for name in bundle.names()} if bundle else {}
        parts.update(self._new)
        cache.put_bundle(self._key(), RESULTS_KIND, parts)
        self._new = {}
