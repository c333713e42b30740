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
from collections.abc import Iterator
from dataclasses import dataclass

from fabric.errors import RenderError

__all__ = ["ParseError", "Stmt", "parse", "to_curly", "to_set", "unquote"]


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


def _tokens(text: str) -> Iterator[tuple[str, int]]:
    line = 1
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


def parse(text: str) -> list[Stmt]:
    """Parse curly-brace configuration text into its top-level statements."""
    root: list[Stmt] = []
    stack: list[list[Stmt]] = [root]
    words: list[str] = []
    start = 0
    tokens = _tokens(text)
    for tok, line in tokens:
        if tok == "{":
            if not words:
                raise ParseError(f"line {line}: '{{' without a statement before it")
            block = Stmt(tuple(words), [])
            stack[-1].append(block)
            stack.append(block.children)  # type: ignore[arg-type]  # just created as a list
            words = []
        elif tok == "}":
            if words:
                raise ParseError(f"line {start}: statement {' '.join(words)!r} is missing its ';'")
            if len(stack) == 1:
                raise ParseError(f"line {line}: '}}' without a matching '{{'")
            stack.pop()
        elif tok == ";":
            if not words:
                raise ParseError(f"line {line}: empty statement (stray ';')")
            stack[-1].append(Stmt(tuple(words)))
            words = []
        elif tok == "[":
            if not words:
                raise ParseError(f"line {line}: '[' without a statement before it")
            values: list[str] = []
            for vtok, vline in tokens:
                if vtok == "]":
                    break
                if vtok in "{};[":
                    raise ParseError(f"line {vline}: {vtok!r} inside a '[ ... ]' list")
                values.append(vtok)
            else:
                raise ParseError(f"line {line}: '[' is never closed")
            if not values:
                raise ParseError(f"line {line}: empty '[ ]' list")
            end = next(tokens, None)
            if end is None or end[0] != ";":
                raise ParseError(f"line {line}: a '[ ... ]' list must end with ';'")
            stack[-1].append(Stmt(tuple(words), None, tuple(values)))
            words = []
        elif tok == "]":
            raise ParseError(f"line {line}: ']' without a matching '['")
        else:
            if not words:
                start = line
            words.append(tok)
    if words:
        raise ParseError(f"line {start}: statement {' '.join(words)!r} is missing its ';'")
    if len(stack) != 1:
        raise ParseError("end of text inside an open '{' block")
    return root


def to_set(stmts: list[Stmt]) -> str:
    """The ``set`` form: one line per leaf, per leaf-list value and per empty block."""
    out: list[str] = []

    def walk(prefix: str, items: list[Stmt]) -> None:
        for s in items:
            path = prefix + " ".join(s.words)
            if s.values is not None:
                out.extend(f"{path} {v}" for v in s.values)
            elif s.children:
                walk(path + " ", s.children)
            else:
                out.append(path)

    walk("set ", stmts)
    out.append("")
    return "\n".join(out)


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
