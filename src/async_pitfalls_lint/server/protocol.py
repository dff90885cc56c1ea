"""The language server: LSP over stdio, on pygls.

One thread runs every analysis (the project state is not shared between threads); the event
loop of the protocol only schedules work and answers. Diagnostics:

- didOpen and didSave check the buffer at once; didChange checks it after `debounce` seconds
  without a newer change (each change cancels the check still waiting, and a check whose
  version was superseded while it ran is not published);
- after a file's check, the other open files are checked again (an edit of a helper can make
  or end a finding in a route that calls it): cheap, as the project state is shared;
- workspace/didChangeWatchedFiles (registered with clients that allow it) forgets the files'
  old content, and a change of pyproject.toml re-reads the settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from async_pitfalls_lint import __version__
from async_pitfalls_lint.catalog import load_catalog
from async_pitfalls_lint.server.actions import (
    FIX_ALL_KIND,
    Action,
    fix_action,
    fix_all_action,
    noqa_action,
)
from async_pitfalls_lint.server.convert import SOURCE, Lines, diagnostic
from async_pitfalls_lint.server.hover import functions_named, hover_text
from async_pitfalls_lint.server.session import CONFIG_FILES, FileCheck, Session
from async_pitfalls_lint.source import SourceProblem, decode_source

DEBOUNCE = 0.2  # seconds without a newer change before a changed buffer is checked
NAME = "async-pitfalls-lint"
_LEVELS = {
    "error": types.MessageType.Error,
    "warning": types.MessageType.Warning,
    "info": types.MessageType.Info,
    "log": types.MessageType.Log,
}
_T = TypeVar("_T")


class _Worker(Executor):
    """One daemon thread that runs the analyses in order. A daemon, so that `exit` does not
    wait for a long first analysis of a big project to finish."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._loop, name="apl-analysis", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        future: Future[_T] = Future()
        self._jobs.put((future, lambda: fn(*args, **kwargs)))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:  # noqa: ARG002
        self._jobs.put(None)

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, work = job
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while it waited: a newer version superseded it
            try:
                future.set_result(work())
            except BaseException as error:
                future.set_exception(error)


class Controller:
    """The server's state: the session (on the analysis thread) and the scheduled checks."""

    def __init__(self, server: LanguageServer, debounce: float = DEBOUNCE) -> None:
        self.server = server
        self.debounce = debounce
        self.session = Session(self.log)
        self.catalog = load_catalog()
        self.worker = _Worker()
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.published: dict[str, tuple[int | None, str]] = {}  # uri -> (version, text)
        self.loop: asyncio.AbstractEventLoop | None = None

    # -- logging --------------------------------------------------------------------------------
    def log(self, level: str, message: str) -> None:
        """window/logMessage, from any thread."""
        params = types.LogMessageParams(
            type=_LEVELS.get(level, types.MessageType.Log), message=message
        )
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(self._send_log, params)

    def _send_log(self, params: types.LogMessageParams) -> None:
        with contextlib.suppress(Exception):  # the client went away: nothing to tell it
            self.server.window_log_message(params)

    # -- running on the analysis thread ---------------------------------------------------------
    async def run(self, work: Callable[[], _T]) -> _T:
        self.loop = asyncio.get_running_loop()
        return await self.loop.run_in_executor(self.worker, work)

    # -- documents ------------------------------------------------------------------------------
    def document(self, uri: str) -> tuple[str, str, int | None] | None:
        """(path, text, version) of an open Python buffer with a file: URI, else None."""
        if uri not in self.server.workspace.text_documents:
            return None
        path = to_fs_path(uri)
        if path is None or not uri.startswith("file:"):
            return None
        document = self.server.workspace.get_text_document(uri)
        if document.language_id not in (None, "", "python") and not path.endswith((".py", ".pyi")):
            return None
        return os.path.abspath(path), document.source, document.version

    def schedule(self, uri: str, delay: float, others: bool = True) -> None:
        """Check a buffer after `delay` seconds, cancelling the check of it still waiting."""
        self.loop = asyncio.get_running_loop()
        waiting = self.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        self.pending[uri] = asyncio.ensure_future(self._check_later(uri, delay, others))

    async def _check_later(self, uri: str, delay: float, others: bool) -> None:
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            await self.publish(uri)
        except asyncio.CancelledError:
            return
        except Exception as error:  # never let one check end the server
            self.log("error", f"{uri}: {type(error).__name__}: {error}")
            return
        finally:
            if self.pending.get(uri) is asyncio.current_task():
                del self.pending[uri]
        if others:
            for other in list(self.server.workspace.text_documents):
                if other != uri and self.document(other) is not None:
                    self.schedule(other, 0, others=False)

    async def publish(self, uri: str) -> None:
        found = self.document(uri)
        if found is None:
            return
        path, text, version = found
        started = time.perf_counter()
        diagnostics = await self.run(lambda: self._diagnose(path, text))
        now = self.document(uri)
        if now is None or now[2] != version or now[1] != text:
            return  # superseded while it ran: the newer version's check publishes
        self.server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )
        self.published[uri] = (version, text)
        elapsed = (time.perf_counter() - started) * 1000
        self.log("log", f"{path}: {len(diagnostics)} diagnostics in {elapsed:.0f} ms")

    def _diagnose(self, path: str, text: str) -> list[types.Diagnostic]:
        """On the analysis thread: check the text and convert the findings."""
        check = self.session.check(path, text)
        return self._diagnostics(check)

    def _diagnostics(self, check: FileCheck) -> list[types.Diagnostic]:
        lines = self._lines(check.text)
        cache: dict[str, Lines | None] = {check.path: lines}

        def lines_of(other: str) -> Lines | None:
            if other not in cache:
                cache[other] = self._file_lines(check, other)
            return cache[other]

        return [
            diagnostic(finding, lines, self.catalog, check.root, lines_of)
            for finding in check.findings
        ]

    def _lines(self, text: str) -> Lines:
        return Lines(text, self.server.workspace.position_codec)

    def _file_lines(self, check: FileCheck, path: str) -> Lines | None:
        """Another file's lines (its unsaved buffer, else the disk), for a chain step."""
        data = None
        if check.analysis is not None:
            data = check.analysis.project.read_bytes(path)
        if data is None:
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError:
                return None
        try:
            return self._lines(decode_source(data).text)
        except SourceProblem:
            return self._lines(data.decode("utf-8", "replace"))

    async def current_check(self, uri: str) -> tuple[FileCheck, int | None] | None:
        """The check of the buffer's current text (made now when the latest is older)."""
        found = self.document(uri)
        if found is None:
            return None
        path, text, version = found

        def work() -> FileCheck:
            known = self.session.checks.get(path)
            if known is not None and known.text == text:
                return known
            return self.session.check(path, text)

        return await self.run(work), version

    # -- features -------------------------------------------------------------------------------
    async def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        current = await self.current_check(uri)
        if current is None:
            return []
        check, version = current
        only = params.context.only

        def wanted(kind: str) -> bool:
            return only is None or any(
                kind == str(prefix) or kind.startswith(f"{prefix}.") for prefix in only
            )

        def work() -> list[Action]:
            lines = self._lines(check.text)
            first, last = params.range.start.line, params.range.end.line
            actions: list[Action] = []
            if wanted(types.CodeActionKind.QuickFix.value):
                for finding in check.findings:
                    if finding.code == "APL900":
                        continue
                    if finding.span.end_line - 1 < first or finding.span.line - 1 > last:
                        continue
                    for make in (fix_action, noqa_action):
                        action = make(check.text, lines, finding)
                        if action is not None:
                            actions.append(action)
            if wanted(FIX_ALL_KIND):
                every = fix_all_action(check.text, lines, check.findings)
                if every is not None:
                    actions.append(every)
            return actions

        actions = await self.run(work)
        diagnostics = {
            finding: diagnostic(
                finding,
                self._lines(check.text),
                self.catalog,
                check.root,
                lambda _path: None,
                related=False,
            )
            for finding in {action.finding for action in actions if action.finding is not None}
        }
        return [
            types.CodeAction(
                title=action.title,
                kind=action.kind,
                diagnostics=[diagnostics[action.finding]] if action.finding is not None else None,
                is_preferred=action.preferred or None,
                edit=self._workspace_edit(uri, version, action.edits),
            )
            for action in actions
        ]

    def _workspace_edit(
        self, uri: str, version: int | None, edits: list[types.TextEdit]
    ) -> types.WorkspaceEdit:
        capabilities = self.server.client_capabilities.workspace
        edit = capabilities.workspace_edit if capabilities is not None else None
        if edit is not None and edit.document_changes:
            document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
            return types.WorkspaceEdit(
                document_changes=[types.TextDocumentEdit(text_document=document, edits=list(edits))]
            )
        return types.WorkspaceEdit(changes={uri: list(edits)})

    async def hover(self, params: types.HoverParams) -> types.Hover | None:
        uri = params.text_document.uri
        current = await self.current_check(uri)
        if current is None:
            return None
        check = current[0]
        analysis = check.analysis
        if analysis is None:
            return None
        lines = self._lines(check.text)
        word = lines.word_at(params.position)
        if not word:
            return None

        def work() -> str | None:
            texts = [
                hover_text(analysis, path, function, check.findings)
                for path, function in functions_named(
                    analysis, check.path, word, params.position.line + 1
                )
            ]
            shown = [text for text in texts if text]
            return "\n\n---\n\n".join(shown) if shown else None

        text = await self.run(work)
        if text is None:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))

    async def files_changed(self, paths: list[str]) -> None:
        await self.run(lambda: self.session.files_changed(paths))
        for uri in list(self.server.workspace.text_documents):
            if self.document(uri) is not None:
                self.schedule(uri, 0, others=False)

    def folders_changed(self) -> None:
        folders = [
            path
            for folder in self.server.workspace.folders.values()
            if (path := to_fs_path(folder.uri)) is not None
        ]
        root = self.server.workspace.root_path
        if not folders and root:
            folders = [root]
        self.session.set_folders(folders)


def _register_watchers(server: LanguageServer) -> None:
    capabilities = server.client_capabilities.workspace
    watched = capabilities.did_change_watched_files if capabilities is not None else None
    if watched is None or not watched.dynamic_registration:
        return
    globs = ["**/*.py", *(f"**/{name}" for name in CONFIG_FILES)]
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[types.FileSystemWatcher(glob_pattern=glob) for glob in globs]
    )
    registration = types.Registration(
        id=f"{NAME}-watched-files",
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=options,
    )
    server.client_register_capability(
        types.RegistrationParams(registrations=[registration]), callback=lambda _result: None
    )


class _ClientLog(logging.Handler):
    """pygls's own warnings and errors (a message it could not read) go to the client."""

    def __init__(self, controller: Controller) -> None:
        super().__init__(logging.WARNING)
        self.controller = controller

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                message += f": {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
            self.controller.log("error" if record.levelno >= logging.ERROR else "warning", message)
        except Exception:  # a log line must never end the server
            pass


def create_server(debounce: float = DEBOUNCE) -> tuple[LanguageServer, Controller]:
    server = LanguageServer(
        NAME, __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full
    )
    controller = Controller(server, debounce)

    @server.feature(types.INITIALIZED)
    async def initialized(_params: types.InitializedParams) -> None:
        controller.loop = asyncio.get_running_loop()
        controller.folders_changed()
        _register_watchers(server)
        controller.log("info", f"{NAME} {__version__} language server started")

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(params: types.DidOpenTextDocumentParams) -> None:
        controller.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(params: types.DidChangeTextDocumentParams) -> None:
        controller.schedule(params.text_document.uri, controller.debounce)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        path = to_fs_path(uri)
        if path is not None and os.path.basename(path) in CONFIG_FILES:
            await controller.files_changed([os.path.abspath(path)])
        controller.schedule(uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        waiting = controller.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        path = to_fs_path(uri)
        if path is not None:
            closed = os.path.abspath(path)
            await controller.run(lambda: controller.session.closed(closed))
        controller.published.pop(uri, None)
        server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )
        for other in list(server.workspace.text_documents):
            if other != uri and controller.document(other) is not None:
                controller.schedule(other, 0, others=False)  # the disk counts again

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def watched(params: types.DidChangeWatchedFilesParams) -> None:
        paths = [
            os.path.abspath(path)
            for change in params.changes
            if (path := to_fs_path(change.uri)) is not None
        ]
        if paths:
            await controller.files_changed(paths)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def folders(_params: types.DidChangeWorkspaceFoldersParams) -> None:
        controller.folders_changed()
        await controller.files_changed([])

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll],
            resolve_provider=False,
        ),
    )
    async def code_action(params: types.CodeActionParams) -> list[types.CodeAction]:
        try:
            return await controller.code_actions(params)
        except Exception as error:  # an answer without actions, never a dead server
            controller.log("error", f"code actions: {type(error).__name__}: {error}")
            return []

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(params: types.HoverParams) -> types.Hover | None:
        try:
            return await controller.hover(params)
        except Exception as error:
            controller.log("error", f"hover: {type(error).__name__}: {error}")
            return None

    @server.feature(types.SHUTDOWN)
    def shutdown(_params: Any) -> None:
        for waiting in controller.pending.values():
            waiting.cancel()
        controller.pending.clear()
        controller.worker.shutdown(wait=False)

    logging.getLogger("pygls").addHandler(_ClientLog(controller))
    return server, controller


def serve(debounce: float = DEBOUNCE) -> int:
    server, _ = create_server(debounce)
    server.start_io()
    return 0


__all__ = ["SOURCE", "Controller", "create_server", "from_fs_path", "serve"]
