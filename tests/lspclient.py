"""A small LSP client for the tests: runs `async-pitfalls-lint server` as a real process and
speaks JSON-RPC to it over its standard streams, with Content-Length framing written here
(not a library's), so the tests see exactly the bytes an editor would.

Every wait has a timeout: a server that hangs fails the test in seconds instead of hanging
the suite.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TIMEOUT = 30.0
Message = dict[str, Any]


def frame(payload: Message | bytes) -> bytes:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Client:
    def __init__(self, cwd: Path, args: tuple[str, ...] = (), env: dict[str, str] | None = None):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "async_pitfalls_lint", "server", *args],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.incoming: queue.Queue[Message | None] = queue.Queue()
        self.notifications: list[Message] = []
        self.stderr: list[bytes] = []
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    # -- wire -------------------------------------------------------------------------------------
    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    self.incoming.put(None)
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            assert length is not None, "a message without Content-Length"
            self.incoming.put(json.loads(stream.read(length)))

    def _drain_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        for line in stream:
            self.stderr.append(line)

    def write(self, data: bytes) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(data)
        stdin.flush()

    def send(self, payload: Message) -> None:
        self.write(frame(payload))

    # -- JSON-RPC ---------------------------------------------------------------------------------
    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any, timeout: float = TIMEOUT) -> Any:
        self._next_id += 1
        ident = self._next_id
        self.send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        message = self._wait(lambda m: m.get("id") == ident and "method" not in m, timeout)
        assert "error" not in message, message
        return message.get("result")

    def wait_notification(
        self,
        method: str,
        predicate: Callable[[Any], bool] = lambda _params: True,
        timeout: float = TIMEOUT,
    ) -> Any:
        """The first notification (already received or coming) that matches; consumed."""
        for index, known in enumerate(self.notifications):
            if known["method"] == method and predicate(known.get("params")):
                del self.notifications[index]
                return known.get("params")
        message = self._wait(
            lambda m: m.get("method") == method and "id" not in m and predicate(m.get("params")),
            timeout,
        )
        return message.get("params")

    def diagnostics(
        self,
        uri: str,
        version: int | None = None,
        timeout: float = TIMEOUT,
        codes: list[str] | None = None,
    ) -> list[Message]:
        """The next diagnostics published for `uri` (for `version`, with these `codes`, when
        given: the server publishes an open file again when another one changes)."""
        params = self.wait_notification(
            "textDocument/publishDiagnostics",
            lambda p: (
                p["uri"] == uri
                and (version is None or p.get("version") == version)
                and (codes is None or [item["code"] for item in p["diagnostics"]] == codes)
            ),
            timeout,
        )
        return list(params["diagnostics"])

    def _wait(self, predicate: Callable[[Message], bool], timeout: float) -> Message:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; stderr: {b''.join(self.stderr)[-2000:]!r}")
            try:
                message = self.incoming.get(timeout=left)
            except queue.Empty:
                continue
            if message is None:
                raise AssertionError(
                    f"the server closed its output; stderr: {b''.join(self.stderr)[-2000:]!r}"
                )
            if "method" in message and "id" in message:  # a request of the server's
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
                continue
            if predicate(message):
                return message
            if "method" in message:
                self.notifications.append(message)

    # -- session ----------------------------------------------------------------------------------
    def initialize(self, folders: list[Path], capabilities: Message | None = None) -> Any:
        result = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": folders[0].as_uri() if folders else None,
                "workspaceFolders": [
                    {"uri": folder.as_uri(), "name": folder.name} for folder in folders
                ],
                "capabilities": capabilities
                or {
                    "workspace": {
                        "workspaceEdit": {"documentChanges": True},
                        "didChangeWatchedFiles": {"dynamicRegistration": True},
                    },
                    "textDocument": {"publishDiagnostics": {"relatedInformation": True}},
                },
            },
        )
        self.notify("initialized", {})
        return result

    def open(self, path: Path, text: str, version: int = 1) -> str:
        uri = path.as_uri()
        self.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": "python",
                    "version": version,
                    "text": text,
                }
            },
        )
        return uri

    def change(self, uri: str, text: str, version: int) -> None:
        self.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"text": text}],
            },
        )

    def close(self, timeout: float = TIMEOUT) -> int:
        """shutdown, then exit: the exit status."""
        try:
            self.request("shutdown", None, timeout)
            self.notify("exit", None)
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def apply_text_edits(text: str, edits: list[Message]) -> str:
    """Apply LSP text edits (UTF-16 positions) to a text, as an editor does."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(position: Message) -> int:
        line = position["line"]
        if line >= len(lines):
            return len(text)
        units = 0
        for index, char in enumerate(lines[line]):
            if units >= position["character"]:
                return starts[line] + index
            units += 2 if ord(char) > 0xFFFF else 1
        return starts[line] + len(lines[line].rstrip("\r\n"))

    spans = sorted(
        (
            (offset(edit["range"]["start"]), offset(edit["range"]["end"]), edit["newText"])
            for edit in edits
        ),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def workspace_edits(edit: Message, uri: str) -> list[Message]:
    """The text edits of a WorkspaceEdit for one document (documentChanges or changes)."""
    if edit.get("documentChanges"):
        return [
            text_edit
            for change in edit["documentChanges"]
            if change["textDocument"]["uri"] == uri
            for text_edit in change["edits"]
        ]
    return list(edit.get("changes", {}).get(uri, []))
