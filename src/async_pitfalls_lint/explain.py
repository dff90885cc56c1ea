"""Rule documentation rendered from the catalog: the terminal's `explain` and docs/rules/."""

from __future__ import annotations

from async_pitfalls_lint.catalog import Catalog, Rule

_FIX_TEXT = {
    "safe": "A safe fix is available (`async-pitfalls-lint fix`).",
    "unsafe": "An unsafe fix is available with `async-pitfalls-lint fix --unsafe-fixes`.",
    "none": "No automatic fix.",
}


def rule_markdown(rule: Rule, catalog: Catalog) -> str:
    """One rule's page: What it does / Why is this bad? / Example / Use instead / Fix / Options."""
    category = catalog.categories.get(rule.category)
    default = "on" if rule.default else f"off (enable with `--extend-select {rule.code}`)"
    lines = [
        f"# {rule.code}: {rule.name}",
        "",
        f"{rule.summary}.",
        "",
        f"*Family:* {rule.family} · *Category:* {category.title if category else rule.category} · "
        f"*Default:* {default}"
        f" · *Since:* {rule.since}",
        "",
        "## What it does",
        "",
        rule.what,
        "",
        "## Why is this bad?",
        "",
        rule.why,
        "",
        "## Example",
        "",
        "```python",
        rule.example,
        "```",
        "",
        "## Use instead",
        "",
        "```python",
        rule.use_instead,
        "```",
        "",
        "## Fix safety",
        "",
        _FIX_TEXT[rule.fix] + (" " + rule.fix_note if rule.fix_note and rule.fix != "none" else ""),
        "",
        "## Options",
        "",
        "- `scope`: which coroutines count as event-loop code (`fastapi` or `all`).",
        "- `extra-blocking` / `allow`: add blocking callables, or exempt some.",
        "- `select`, `ignore`, `extend-select`, `per-file-ignores`.",
    ]
    if rule.references:
        lines += ["", "## References", ""]
        lines += [f"- <{reference}>" for reference in rule.references]
    return "\n".join(lines) + "\n"


def render_rule(rule: Rule, catalog: Catalog) -> str:
    return rule_markdown(rule, catalog)


def render_rule_terminal(rule: Rule, catalog: Catalog, colour: bool = False) -> str:
    """The rule page for a terminal: headings stand out, code blocks are indented, links bare."""
    bold, reset = ("\033[1m", "\033[0m") if colour else ("", "")
    lines: list[str] = []
    in_code = False
    for line in rule_markdown(rule, catalog).splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            lines.append(("    " + line).rstrip())
        elif line.startswith("# "):
            title = line[2:]
            lines += [f"{bold}{title}{reset}", "=" * len(title)]
        elif line.startswith("## "):
            heading = line[3:]
            lines += [f"{bold}{heading}{reset}", "-" * len(heading)]
        else:
            lines.append(line.replace("*", "").replace("- <", "- ").rstrip(">"))
    return "\n".join(lines) + "\n"


def render_rules_table(catalog: Catalog) -> str:
    rows = []
    for rule in catalog.rules:
        default = "" if rule.default else "  (off by default)"
        rows.append(f"{rule.code}  {rule.name:<30} {rule.summary}{default}\n")
    return "".join(rows)
