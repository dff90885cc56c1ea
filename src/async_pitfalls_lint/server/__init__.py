"""`async-pitfalls-lint server`: a Language Server Protocol server over stdio.

It needs pygls (the `lsp` extra: `pip install "async-pitfalls-lint[lsp]"`); importing this
package does not, so the command can say how to install it when it is missing.
"""

from __future__ import annotations

INSTALL_HINT = 'pip install "async-pitfalls-lint[lsp]"'


def missing_dependency() -> str | None:
    """The name of the language server's missing dependency, or None when it can run."""
    for module in ("pygls", "lsprotocol"):
        try:
            __import__(module)
        except ImportError:
            return module
    return None
