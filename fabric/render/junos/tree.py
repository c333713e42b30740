"""A strict parser for Junos curly-brace configuration text, and its ``set`` form.

The templates print curly-brace text (what ``show configuration`` shows); this module
parses that text into a tree of :class:`Stmt` so that the ``set`` form and the XML form are
printed from the same statements and can never disagree with the ``.conf`` file.

The grammar is the subset Junos itself prints: ``words... { ... }`` blocks,
``words...;`` leaves, ``words... [ v1 v2 ];`` leaf-lists, ``"quoted strings"`` with
``\\"`` and ``\\\\`` escapes, and ``/* comments */`` / ``#`` comments (skipped). Anything
else (an unbalanced brace, a stray ``;``, an unterminated string) is a :class:`ParseError`
naming the line, never a silently different tree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from fabric.errors import RenderError
from fabric.speed import fill_numbered

__all__ = ["SLOT", "ParseError", "SharedBlock", "Stmt", "fill_marks", "parse", "to_curly", "to_set", "unquote"]

SLOT = "__slot__"
"""Keyword of a placeholder statement ``__slot__ N;``: where the :class:`SharedBlock`
number N goes (see :func:`to_set` and :func:`fabric.render.junos.xml.to_xml`)."""


class ParseError(RenderError):
    """The curly-brace text is not well formed; the message names the line."""


@dataclass(slots=True)
class Stmt:
    """One configuration statement.

    ``words`` is the keyword and its arguments as written (quoted strings keep their
    quotes, so printing is lossless). ``children`` is ``None`` for a leaf (``a b;``) and a
    list for a block (``a b { ... }``, possibly empty). ``values`` is set for a bracketed
    leaf-list (``members [ x y ];``); such a statement has no children.
    """

    words: tuple[str, ...]
    children: list[Stmt] | None = None
    values: tuple[str, ...] | None = None

    @property
    def keyword(self) -> str:
        return self.words[0]

    def find(self, *words: str) -> Stmt | None:
        """The first child whose words are exactly ``words`` (None when absent)."""
        for child in self.children or ():
            if child.words == words:
                return child
        return None


# One token: a quoted string, a bracket/brace/semicolon, a comment, a newline, or a bare word.
_TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"'  # quoted string (no raw newline inside)
    r"|/\*.*?\*/"  # block comment
    r"|#[^\n]*"  # line comment (Junos prints "## Last changed" lines)
    r"|[{};\[\]]"
    r"|\n"
    r'|[^\s{};\[\]"#]+'
    r'|"'  # an unterminated quote: reported as an error below
    r"|[^\S\n]+",  # other whitespace, skipped
    re.S,
)


def _tokens(text: str, line: int = 1) -> Iterator[tuple[str, int]]:
    for m in _TOKEN.finditer(text):
        tok = m.group()
        first = tok[0]
        if first == "\n":
            line += 1
        elif first in " \t\r\f\v":
            continue
        elif first == "#" or tok.startswith("/*"):
            line += tok.count("\n")
        elif tok == '"':
            raise ParseError(f"line {line}: unterminated quoted string")
        else:
            yield tok, line


class _Parser:
    """The statement state machine, fed one token at a time."""

    def __init__(self) -> None:
        self.root: list[Stmt] = []
        self.stack: list[list[Stmt]] = [self.root]
        self.words: list[str] = []
        self.start = 0
        self.values: list[str] | None = None  # inside "[ ... ]"
        self.after_values = False  # "]" seen, ";" expected

    def feed(self, tok: str, line: int) -> None:
        if self.after_values:
            if tok != ";":
                raise ParseError(f"line {line}: a '[ ... ]' list must end with ';'")
            self.after_values = False
            self.stack[-1].append(Stmt(tuple(self.words), None, tuple(self.values or ())))
            self.words = []
            self.values = None
            return
        if self.values is not None:
            if tok == "]":
                if not self.values:
                    raise ParseError(f"line {line}: empty '[ ]' list")
                self.after_values = True
            elif tok in ("{", "}", ";", "["):
                raise ParseError(f"line {line}: {tok!r} inside a '[ ... ]' list")
            else:
                self.values.append(tok)
            return
        if tok == "{":
            if not self.words:
                raise ParseError(f"line {line}: '{{' without a statement before it")
            children: list[Stmt] = []
            self.stack[-1].append(Stmt(tuple(self.words), children))
            self.stack.append(children)
            self.words = []
        elif tok == "}":
            self.close(line)
        elif tok == ";":
            if not self.words:
                raise ParseError(f"line {line}: empty statement (stray ';')")
            self.stack[-1].append(Stmt(tuple(self.words)))
            self.words = []
        elif tok == "[":
            if not self.words:
                raise ParseError(f"line {line}: '[' without a statement before it")
            self.values = []
        elif tok == "]":
            raise ParseError(f"line {line}: ']' without a matching '['")
        else:
            if not self.words:
                self.start = line
            self.words.append(tok)

    def close(self, line: int) -> None:
        if self.words:
            raise ParseError(f"line {self.start}: statement {' '.join(self.words)!r} is missing its ';'")
        if len(self.stack) == 1:
            raise ParseError(f"line {line}: '}}' without a matching '{{'")
        self.stack.pop()

    def finish(self) -> list[Stmt]:
        if self.after_values:
            raise ParseError(f"line {self.start}: a '[ ... ]' list must end with ';'")
        if self.values is not None:
            raise ParseError("end of text inside a '[ ... ]' list")
        if self.words:
            raise ParseError(f"line {self.start}: statement {' '.join(self.words)!r} is missing its ';'")
        if len(self.stack) != 1:
            raise ParseError("end of text inside an open '{' block")
        return self.root


# A line the fast path may split on whitespace: nothing that needs the tokenizer.
_SPECIAL = re.compile(r'[{};\[\]"#]|/\*')


def parse(text: str) -> list[Stmt]:
    """Parse curly-brace configuration text into its top-level statements.

    Lines of one plain statement (``a b {``, ``a b;``, ``}``) take a fast path; anything
    else (quotes, lists, comments, statements over several lines) goes through the
    tokenizer, with the same rules."""
    p = _Parser()
    if "/*" in text:  # a block comment may span lines: tokenize everything
        for tok, line in _tokens(text):
            p.feed(tok, line)
        return p.finish()
    special = _SPECIAL.search
    for number, raw in enumerate(text.split("\n"), 1):
        s = raw.strip()
        if not s:
            continue
        if not p.words and p.values is None and not p.after_values:
            last = s[-1]
            if s == "}":
                p.close(number)
                continue
            body = s[:-1]
            if (last == "{" or last == ";") and body and not special(body):
                words = body.split()
                if last == "{":
                    children: list[Stmt] = []
                    p.stack[-1].append(Stmt(tuple(words), children))
                    p.stack.append(children)
                else:
                    p.stack[-1].append(Stmt(tuple(words)))
                continue
        for tok, line in _tokens(s, number):
            p.feed(tok, line)
    return p.finish()


def set_lines(stmts: list[Stmt], prefix: str = "set ", slots: Sequence[SharedBlock] = ()) -> list[str]:
    """The ``set`` lines of ``stmts`` below ``prefix``; placeholder statements
    (``__slot__ N;``) expand to the lines of ``slots[N]``."""
    out: list[str] = []

    def walk(prefix: str, items: list[Stmt]) -> None:
        for s in items:
            if s.words[0] == SLOT:
                out.extend(_slot(slots, s).set_lines(prefix))
                continue
            path = prefix + " ".join(s.words)
            if s.values is not None:
                out.extend(f"{path} {v}" for v in s.values)
            elif s.children:
                walk(path + " ", s.children)
            else:
                out.append(path)

    walk(prefix, stmts)
    return out


def to_set(stmts: list[Stmt], slots: Sequence[SharedBlock] = ()) -> str:
    """The ``set`` form: one line per leaf, per leaf-list value and per empty block."""
    out = set_lines(stmts, "set ", slots)
    out.append("")
    return "\n".join(out)


_MARK = re.compile(SLOT + r" (\d+);\n")


def fill_marks(text: str, values: Sequence[str]) -> str:
    """``text`` with each placeholder line ``__slot__ N;`` replaced by ``values[N]``;
    each value must be placed exactly once."""
    try:
        return fill_numbered(text, _MARK, values)
    except ValueError as e:
        raise RenderError(str(e)) from None


def _slot(slots: Sequence[SharedBlock], s: Stmt) -> SharedBlock:
    try:
        return slots[int(s.words[1])]
    except (IndexError, ValueError):
        raise RenderError(f"placeholder {' '.join(s.words)!r} names no shared block") from None


class SharedBlock:
    """Curly-brace text that is the same in many devices' configs (a leaf's irb units,
    VLANs, vni-options), parsed once and printed once per place it goes.

    The Junos renderer renders a device's config with a placeholder ``__slot__ N;`` where
    such a block goes, and :meth:`JunosRenderer.render` keeps one :class:`SharedBlock` per
    distinct text: the ``set`` lines under a given prefix and the XML under a given parent
    element are computed once and reused for every device that has the same block
    (``tests/bench/test_speed.py`` measures it against parsing every device's whole text)."""

    __slots__ = ("_set", "_xml", "text", "tree")

    def __init__(self, text: str) -> None:
        self.text = text
        self.tree = parse(text)
        self._set: dict[str, list[str]] = {}
        self._xml: dict[tuple[str, str], list[str]] = {}

    def set_lines(self, prefix: str) -> list[str]:
        hit = self._set.get(prefix)
        if hit is None:
            hit = self._set[prefix] = set_lines(self.tree, prefix)
        return hit

    def xml_lines(self, parent: str, indent: str, make: Callable[[list[Stmt], str, str], list[str]]) -> list[str]:
        key = (parent, indent)
        hit = self._xml.get(key)
        if hit is None:
            hit = self._xml[key] = make(self.tree, parent, indent)
        return hit


def to_curly(stmts: list[Stmt]) -> str:
    """Print statements as curly-brace text, four spaces per level (the template style)."""
    out: list[str] = []

    def walk(indent: str, items: list[Stmt]) -> None:
        for s in items:
            head = indent + " ".join(s.words)
            if s.values is not None:
                out.append(f"{head} [ {' '.join(s.values)} ];")
            elif s.children is None:
                out.append(head + ";")
            else:
                out.append(head + " {")
                walk(indent + "    ", s.children)
                out.append(indent + "}")

    walk("", stmts)
    out.append("")
    return "\n".join(out)


_UNESCAPE = re.compile(r"\\(.)")


def unquote(word: str) -> str:
    """The value of a word: quoted strings lose their quotes and escapes."""
    if len(word) >= 2 and word[0] == '"' and word[-1] == '"':
        return _UNESCAPE.sub(r"\1", word[1:-1])
    return word
