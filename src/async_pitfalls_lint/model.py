"""The records every part of the tool exchanges: findings, their call chains, file problems."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A source range: 1-based lines, 0-based columns (flake8 and libcst conventions)."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class ChainStep:
    """One call on the way from event-loop code to the blocking call."""

    label: str
    path: str
    line: int
    column: int


@dataclass(frozen=True)
class Edit:
    """Replace the text between two offsets of the file with `text`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Fix:
    """A mechanical fix for one finding."""

    title: str
    safe: bool
    edits: tuple[Edit, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One reported problem."""

    path: str
    code: str
    message: str
    span: Span
    category: str
    callee: str = ""
    chain: tuple[ChainStep, ...] = ()
    fix: Fix | None = None
    fix_unavailable: str = ""
    function: str = ""  # qualified name of the event-loop function the finding is in
    # For helper findings: the helper's other blocking calls of the same category, each at
    # its own location (the chain shows the first).
    also: tuple[ChainStep, ...] = ()

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def column(self) -> int:
        return self.span.column

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.span.line, self.span.column, self.code)


@dataclass(frozen=True)
class FileProblem:
    """A file that could not be analysed, and why."""

    path: str
    problem: str
    line: int = 1
    column: int = 0


@dataclass
class FileResult:
    """Everything the analysis says about one file."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    problem: FileProblem | None = None


@dataclass(frozen=True)
class ProjectInfo:
    """What a project's analysis was based on (shown so a user can tell why it sees what)."""

    root: str
    libraries: str  # the environment whose installed libraries inference read, or "off"
