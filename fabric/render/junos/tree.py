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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from fabric.errors import RenderError

__all__ = [
    "SLOT", "MemoTree", "ParseError", "SharedBlock", "StatementMemo", "Stmt", "fill_marks", "parse", "to_curly", "to_set",
    "unquote",
]

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


def set_lines(stmts: list[Stmt], prefix: str = "set ", slots: Slots = ()) -> list[str]:
    """The ``set`` lines of ``stmts`` below ``prefix``; placeholder statements
    (``__slot__ N;``) expand to the lines of ``slots[N]``."""
    out: list[str] = []
    _walk_set(out, prefix, stmts, slots)
    return [line for item in out for line in item.split("\n")] if slots else out


def _walk_set(out: list[str], prefix: str, items: list[Stmt], slots: Slots) -> None:
    """``set`` lines into ``out``; a shared block's lines are one item of ``out`` (what
    ``"\n".join`` prints is the same). A plain recursive function: a closure that calls
    itself is a reference cycle, which keeps what it refers to until the cycle collector
    runs."""
    for s in items:
        if s.words[0] == SLOT:
            text = _slot(slots, s).set_text(prefix)
            if text:
                out.append(text)
            continue
        path = prefix + " ".join(s.words)
        if s.values is not None:
            out.extend([f"{path} {v}" for v in s.values])
        elif s.children:
            _walk_set(out, path + " ", s.children, slots)
        else:
            out.append(path)


def to_set(stmts: list[Stmt], slots: Slots = ()) -> str:
    """The ``set`` form: one line per leaf, per leaf-list value and per empty block."""
    out: list[str] = []
    _walk_set(out, "set ", stmts, slots)
    out.append("")
    return "\n".join(out)


_MARK = re.compile(SLOT + r" (\d+);\n")


def fill_marks(text: str, blocks: Mapping[int, SharedBlock], marked: Sequence[int]) -> str:
    """``text`` with each placeholder line ``__slot__ N;`` replaced by the text of
    ``blocks[N]``; the numbers placed must be exactly ``marked`` (in any order: a
    template that drops or repeats a placeholder is an error)."""
    parts = _MARK.split(text)
    placed = sorted(int(n) for n in parts[1::2])
    if placed != sorted(marked):
        raise RenderError(f"placeholders {placed} do not match the shared blocks {sorted(marked)}")
    for i in range(1, len(parts), 2):
        parts[i] = blocks[int(parts[i])].text
    return "".join(parts)


def _slot(slots: Slots, s: Stmt) -> SharedBlock:
    try:
        return slots[int(s.words[1])]
    except (IndexError, KeyError, ValueError):
        raise RenderError(f"placeholder {' '.join(s.words)!r} names no shared block") from None


class SharedBlock:
    """Curly-brace text that is the same in many devices' configs (a leaf's irb units,
    VLANs, vni-options), parsed once and printed once per place it goes.

    The Junos renderer renders a device's config with a placeholder ``__slot__ N;`` where
    such a block goes (N: the block's ``serial``, never reused by a renderer), and
    :meth:`JunosRenderer.render` keeps one :class:`SharedBlock` per distinct text: the
    ``set`` lines under a given prefix and the XML under a given parent element are
    computed once, as one text, and reused for every device that has the same block
    (``tests/bench/test_speed.py`` measures it against parsing every device's whole text)."""

    __slots__ = ("_set", "_xml", "serial", "text", "tree")

    def __init__(self, text: str, serial: int = 0) -> None:
        self.text = text
        self.serial = serial
        self.tree = parse(text)
        self._set: dict[str, str] = {}
        self._xml: dict[tuple[str, str], str] = {}

    def set_text(self, prefix: str) -> str:
        """The block's ``set`` lines below ``prefix``, joined by newlines (no final one)."""
        hit = self._set.get(prefix)
        if hit is None:
            hit = self._set[prefix] = "\n".join(set_lines(self.tree, prefix))
        return hit

    def xml_text(self, parent: str, indent: str, make: Callable[[list[Stmt], str, str], list[str]]) -> str:
        """The block's XML lines inside ``parent`` at ``indent`` (``make`` prints them),
        joined by newlines (no final one)."""
        key = (parent, indent)
        hit = self._xml.get(key)
        if hit is None:
            hit = self._xml[key] = "\n".join(make(self.tree, parent, indent))
        return hit


Slots = Sequence[SharedBlock] | Mapping[int, SharedBlock]
"""The shared blocks a tree's placeholders name: by position, or by serial."""

_OPEN, _CLOSE, _LEAF, _SKIP, _OTHER = range(5)
_PUNCT = frozenset("{};[]")
_Form = tuple[int, tuple[str, ...], tuple[str, ...] | None]


def _line_form(raw: str) -> _Form:
    """What one line of text is when it holds exactly one whole statement (or its
    closing brace, or nothing): ``(_OPEN, words, None)``, ``(_LEAF, words, values)``,
    ``(_CLOSE, (), None)``, ``(_SKIP, (), None)``; anything else is ``_OTHER``. The words
    are what :func:`parse` makes of the line (the same fast path, else its tokenizer)."""
    s = raw.strip()
    if not s:
        return _SKIP, (), None
    last = s[-1]
    body = s[:-1]
    if (last == "{" or last == ";") and body and not _SPECIAL.search(body):
        return (_OPEN if last == "{" else _LEAF), tuple(body.split()), None
    if s == "}":
        return _CLOSE, (), None
    try:
        toks = [t for t, _ in _tokens(s)]
    except ParseError:
        return _OTHER, (), None
    if not toks:
        return _SKIP, (), None
    last = toks[-1]
    if last == "{" or last == ";":
        body_toks = toks[:-1]
        if "[" in body_toks and last == ";":
            i = body_toks.index("[")
            words, values = body_toks[:i], body_toks[i + 1 : -1]
            if words and values and body_toks[-1] == "]" and not _PUNCT.intersection(words + values):
                return _LEAF, tuple(words), tuple(values)
        elif body_toks and not _PUNCT.intersection(body_toks):
            return (_OPEN if last == "{" else _LEAF), tuple(body_toks), None
    return _OTHER, (), None


class MemoTree:
    """A tree :meth:`StatementMemo.parse` made: the statements, and the text of each of
    its blocks (the key under which the block's printed forms are kept)."""

    __slots__ = ("_lines", "_spans", "memo", "stmts")

    def __init__(self, memo: StatementMemo, stmts: list[Stmt], lines: list[str], spans: dict[int, tuple[int, int]]) -> None:
        self.memo = memo
        self.stmts = stmts
        self._lines = lines
        self._spans = spans

    def text(self, block: Stmt) -> tuple[str, ...]:
        """The lines of ``block`` (a block of this tree), from its opening line to its
        closing brace: they alone decide what it prints (placeholders name shared blocks
        by serial, and a serial always means the same text). A tuple of the lines, not
        their joined text: hashing it reuses each line's hash, made when it was parsed."""
        a, b = self._spans[id(block)]
        return tuple(self._lines[a:b])


class StatementMemo:
    """Speed (issue 10): the Junos text of one leaf differs from the next leaf's in a few
    dozen of its ~520 skeleton lines (addresses, names), so most of its ``set`` and XML
    forms are what an earlier leaf printed already.

    :meth:`parse` tokenizes each distinct line once (what a line holds is kept by its
    text) and notes the lines of each block; :func:`to_set` and
    :func:`fabric.render.junos.xml.to_xml`, given the :class:`MemoTree`, keep the printed
    lines of each block by its text and context (prefix; parent element and indent), so a
    block some earlier device had costs one lookup and only the blocks around a changed
    line are printed again. Keys and values are text: nothing here depends on object
    identity, and the memo adds no objects for the garbage collector to walk. Dropped
    whole past ``limit`` entries. Placeholders must name shared blocks by serial.
    ``tests/bench/test_speed.py`` times it against the plain parse and print; the output
    is the same (``tests/unit/test_build_properties.py``, ``make golden``)."""

    __slots__ = ("_lines", "limit", "xml_items")

    def __init__(self, limit: int = 100_000) -> None:
        self._lines: dict[str, _Form] = {}
        self.xml_items: dict[tuple[tuple[str, ...], str, str], str] = {}
        self.limit = limit

    def __len__(self) -> int:
        return len(self._lines) + len(self.xml_items)

    def parse(self, text: str) -> MemoTree | None:
        """The tree of ``text`` (the same statements :func:`parse` gives), or None where
        the text holds anything but one whole statement per line (then use
        :func:`parse`, which also reports errors)."""
        if len(self) >= self.limit:
            self._lines.clear()
            self.xml_items.clear()
        if "/*" in text:
            return None
        known = self._lines
        lines = text.split("\n")
        spans: dict[int, tuple[int, int]] = {}
        root: list[Stmt] = []
        children = root
        stack: list[tuple[tuple[str, ...], list[Stmt], int]] = []
        for i, raw in enumerate(lines):
            form = known.get(raw)
            if form is None:
                form = known[raw] = _line_form(raw)
            kind = form[0]
            if kind == _LEAF:
                children.append(Stmt(form[1], None, form[2]))
            elif kind == _OPEN:
                stack.append((form[1], children, i))
                children = []
            elif kind == _CLOSE:
                if not stack:
                    return None
                words, parent, first = stack.pop()
                node = Stmt(words, children)
                spans[id(node)] = (first, i + 1)
                parent.append(node)
                children = parent
            elif kind != _SKIP:
                return None
        return None if stack else MemoTree(self, root, lines, spans)


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
