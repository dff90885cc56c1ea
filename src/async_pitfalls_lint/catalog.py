"""The rule catalog (data/rules.toml) as frozen records: codes, names, messages, docs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from async_pitfalls_lint._toml import load_package_data

CODE_PATTERN = re.compile(r"^APL\d{3}$")
FIX_KINDS = ("none", "safe", "unsafe")


@dataclass(frozen=True)
class Advice:
    """What to do instead, for a direct call and for a project helper (`{helper}`)."""

    alternative: str
    helper_alternative: str


@dataclass(frozen=True)
class Category:
    key: str
    title: str
    doing: str
    alternative: str
    helper_alternative: str
    severity: int
    by_gil: Mapping[str, Advice] = field(default_factory=dict)  # CPU work: advice per GIL behaviour

    def advice(self, gil: str = "") -> Advice:
        """The advice for work that holds or releases the GIL (the category's default otherwise)."""
        return self.by_gil.get(gil) or Advice(self.alternative, self.helper_alternative)

    def alternative_for(self, entry_alternative: str, gil: str = "") -> str:
        """A knowledge-base entry's alternative, with `{offload}` filled in by the GIL advice;
        the category's own alternative when the entry has none."""
        offload = self.advice(gil).alternative
        if not entry_alternative:
            return offload
        return entry_alternative.replace("{offload}", offload)

    plain_def: bool = False  # making the route or dependency a plain `def` is also a remedy


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    family: str
    category: str
    summary: str
    message: str
    fix: str
    default: bool
    since: str
    what: str
    why: str
    example: str
    use_instead: str
    fix_note: str
    references: tuple[str, ...]

    def render(self, **values: str) -> str:
        return self.message.format(**values)


@dataclass(frozen=True)
class Catalog:
    rules: tuple[Rule, ...]
    categories: dict[str, Category]

    def get(self, code_or_name: str) -> Rule | None:
        wanted = code_or_name.strip()
        for rule in self.rules:
            if wanted.upper() == rule.code or wanted.lower() == rule.name:
                return rule
        return None

    def __getitem__(self, code: str) -> Rule:
        rule = self.get(code)
        if rule is None:
            raise KeyError(code)
        return rule

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(rule.code for rule in self.rules)

    def severity(self) -> dict[str, int]:
        return {key: category.severity for key, category in self.categories.items()}

    def code_for(self, family: str, category: str) -> str:
        """The code of the rule in `family` that covers `category` (APL1xx/APL2xx)."""
        for rule in self.rules:
            if rule.family == family and rule.category == category:
                return rule.code
        raise KeyError(f"{family}/{category}")


def _rule_from(raw: dict[str, Any]) -> Rule:
    fix = str(raw.get("fix", "none"))
    if fix not in FIX_KINDS:
        raise ValueError(f"{raw.get('code')}: fix must be one of {FIX_KINDS}")
    code = str(raw["code"])
    if not CODE_PATTERN.match(code):
        raise ValueError(f"bad rule code {code!r}")
    return Rule(
        code=code,
        name=str(raw["name"]),
        family=str(raw["family"]),
        category=str(raw["category"]),
        summary=str(raw["summary"]),
        message=str(raw["message"]),
        fix=fix,
        default=bool(raw.get("default", True)),
        since=str(raw.get("since", "")),
        what=str(raw.get("what", "")).strip(),
        why=str(raw.get("why", "")).strip(),
        example=str(raw.get("example", "")).strip("\n"),
        use_instead=str(raw.get("use_instead", "")).strip("\n"),
        fix_note=str(raw.get("fix_note", "")).strip(),
        references=tuple(str(ref) for ref in raw.get("references", ())),
    )


def _advice_by_gil(raw: Mapping[str, Any]) -> dict[str, Advice]:
    return {
        str(gil): Advice(str(value["alternative"]), str(value["helper_alternative"]))
        for gil, value in raw.items()
    }


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    data = load_package_data("rules.toml")
    categories = {
        key: Category(
            key,
            str(value["title"]),
            str(value["doing"]),
            str(value["alternative"]),
            str(value["helper_alternative"]),
            int(value["severity"]),
            _advice_by_gil(value.get("gil", {})),
            bool(value.get("plain_def", False)),
        )
        for key, value in data["categories"].items()
    }
    rules = tuple(_rule_from(raw) for raw in data["rule"])
    codes = [rule.code for rule in rules]
    if len(set(codes)) != len(codes):
        raise ValueError("duplicate rule codes in rules.toml")
    return Catalog(rules=rules, categories=categories)
