"""Load ``rules/*.toml``: chains of links, and the keyword lists handlers use.

A chain file holds ``[[link]]`` tables tried in order. A link matches when every
condition it names holds:

- ``rule = "name"``: a registered predicate (``mailer/matchers``), e.g. ``auto-reply``;
- ``address = "{local}+r-{token}@{domain}"``: a recipient address pattern; ``{local}``
  and ``{domain}`` are the network's own, other ``{name}`` parts are captured;
- ``keyword = "list.join"``: the clean subject or the first line of the new text is
  one of that keyword list's words (any language);
- ``header = "Name"`` with ``pattern = "regex"``: a header's value matches;
- ``any = true``: some earlier ``defer`` link matched.

The action says what happens: ``handle`` (``handler = ...``), ``file`` (kept,
unanswered, with ``reason`` and ``folder``), ``jump`` (``chain = ...``), or ``defer``
(note the ``reason`` and go on, so one later ``any`` link can list every reason).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailer.errors import RulesError

ACTIONS = ("handle", "file", "jump", "defer")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class AddressPattern:
    source: str
    regex: re.Pattern[str]

    @classmethod
    def compile(cls, source: str, local: str, domain: str) -> AddressPattern:
        parts: list[str] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(source):
            parts.append(re.escape(source[pos : m.start()]))
            name = m.group(1)
            if name == "local":
                parts.append(re.escape(local))
            elif name == "domain":
                parts.append(re.escape(domain))
            else:
                parts.append(
                    f"(?P<{name}>[^@+\\s]+?)" if name != "token" else r"(?P<token>[a-z0-9-]+)"
                )
            pos = m.end()
        parts.append(re.escape(source[pos:]))
        return cls(source, re.compile("^" + "".join(parts) + "$", re.IGNORECASE))


@dataclass(frozen=True)
class Link:
    where: str  # "inbound.toml link 3": for errors and explain
    action: str
    rule: str | None = None
    address: AddressPattern | None = None
    keyword: str | None = None
    header: str | None = None
    header_pattern: re.Pattern[str] | None = None
    any_deferred: bool = False
    handler: str | None = None
    chain: str | None = None
    folder: str = "Processed"
    reason: str = ""
    negate: bool = False


@dataclass
class RuleSet:
    chains: dict[str, list[Link]] = field(default_factory=dict)
    keywords: dict[str, frozenset[str]] = field(default_factory=dict)
    languages: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    start: str = "inbound"

    def words(self, name: str) -> frozenset[str]:
        try:
            return self.keywords[name]
        except KeyError:
            raise RulesError(f"no keyword list {name!r} in rules/keywords.toml") from None

    def language_of(self, name: str, word: str) -> str | None:
        """Which language's list holds ``word``: a one-word mail's language."""
        word = word.casefold()
        for language, words in self.languages.get(name, {}).items():
            if word in words:
                return language
        return None


def _link(where: str, data: dict[str, Any], local: str, domain: str, known_rules: set[str]) -> Link:
    allowed = {
        "rule",
        "address",
        "keyword",
        "header",
        "pattern",
        "any",
        "action",
        "handler",
        "chain",
        "folder",
        "reason",
        "not",
        "comment",
    }
    unknown = set(data) - allowed
    if unknown:
        raise RulesError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    action = data.get("action")
    if action not in ACTIONS:
        raise RulesError(f"{where}: action must be one of {', '.join(ACTIONS)}")
    if action == "handle" and not data.get("handler"):
        raise RulesError(f"{where}: action 'handle' needs a handler")
    if action == "jump" and not data.get("chain"):
        raise RulesError(f"{where}: action 'jump' needs a chain")
    if action in ("file", "defer") and not data.get("reason"):
        raise RulesError(f"{where}: action '{action}' needs a reason")
    rule = data.get("rule")
    if rule is not None and rule not in known_rules:
        raise RulesError(f"{where}: unknown rule {rule!r}")
    header_pattern = None
    if "header" in data:
        try:
            header_pattern = re.compile(str(data.get("pattern", ".")), re.IGNORECASE)
        except re.error as exc:
            raise RulesError(f"{where}: bad pattern: {exc}") from None
    address = data.get("address")
    return Link(
        where=where,
        action=action,
        rule=rule,
        address=AddressPattern.compile(address, local, domain) if address else None,
        keyword=data.get("keyword"),
        header=data.get("header"),
        header_pattern=header_pattern,
        any_deferred=bool(data.get("any", False)),
        handler=data.get("handler"),
        chain=data.get("chain"),
        folder=str(data.get("folder", "Processed")),
        reason=str(data.get("reason", "")),
        negate=bool(data.get("not", False)),
    )


def _keywords(path: Path) -> dict[str, dict[str, frozenset[str]]]:
    """``[group.name] fi = [...] sv = [...]`` → ``{"group.name": {"fi": words, ...}}``."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out: dict[str, dict[str, frozenset[str]]] = {}
    for group, entries in data.items():
        if not isinstance(entries, dict):
            raise RulesError(f"{path.name}: [{group}] must be a table")
        for name, langs in entries.items():
            if not isinstance(langs, dict):
                raise RulesError(f"{path.name}: [{group}.{name}] must be a table of languages")
            per_language: dict[str, frozenset[str]] = {}
            for lang, values in langs.items():
                if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                    raise RulesError(f"{path.name}: {group}.{name}.{lang} must be a list")
                per_language[lang] = frozenset(" ".join(v.split()).casefold() for v in values)
            out[f"{group}.{name}"] = per_language
    return out


def load_rules(directory: Path, local: str, domain: str, known_rules: set[str]) -> RuleSet:
    if not directory.is_dir():
        raise RulesError(f"rules directory not found: {directory}")
    ruleset = RuleSet()
    for path in sorted(directory.glob("*.toml")):
        if path.name == "keywords.toml":
            ruleset.languages = _keywords(path)
            ruleset.keywords = {
                name: frozenset().union(*langs.values())
                for name, langs in ruleset.languages.items()
            }
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise RulesError(f"{path.name}: not valid TOML: {exc}") from None
        links = data.get("link", [])
        if not isinstance(links, list) or not links:
            raise RulesError(f"{path.name}: no [[link]] tables")
        ruleset.chains[path.stem] = [
            _link(f"{path.name} link {i}", link, local, domain, known_rules)
            for i, link in enumerate(links, 1)
        ]
    if ruleset.start not in ruleset.chains:
        raise RulesError(f"rules directory {directory} has no {ruleset.start}.toml")
    for name, links in ruleset.chains.items():
        for link in links:
            if link.action == "jump" and link.chain not in ruleset.chains:
                raise RulesError(f"{link.where}: jump to unknown chain {link.chain!r}")
            if link.keyword and link.keyword not in ruleset.keywords:
                raise RulesError(f"{link.where}: unknown keyword list {link.keyword!r}")
        if links[-1].action not in ("handle", "file", "jump") or _conditional(links[-1]):
            raise RulesError(f"{name}.toml: the last link must be unconditional")
    return ruleset


def _conditional(link: Link) -> bool:
    return bool(link.rule or link.address or link.keyword or link.header or link.any_deferred)
