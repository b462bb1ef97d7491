"""Edit a labels file in place without disturbing anything else in it: comments, blank lines, quoting,
indentation and line endings elsewhere stay byte-for-byte.

ruamel.yaml's round-trip parser locates the items (lines and columns); the edit itself is a splice of
whole lines, with the new item rendered by ruamel.yaml (so quoting is right) in the file's own
indentation. A re-dump of the whole document would re-flow long lines and move comments that ruamel
attaches to neighbouring nodes; a splice cannot. Unusual layouts (a flow-style `actions: [...]`, an empty
list) fall back to a full ruamel.yaml round-trip dump, which still keeps comments.
Every edit is re-validated before it is written, and written atomically (temp file + os.replace, keeping
the file's mode), so a live watcher sees the old file or the new one, never half of one; a read-only
file or folder is refused before the edit.
"""

from __future__ import annotations

import difflib
import io
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.util import load_yaml_guess_indent

from dvta_live.errors import UserError
from dvta_live.labels.bundled import bundled_labels_path, is_bundled
from dvta_live.labels.loader import parse_labels
from dvta_live.labels.schema import Action, Labels, name_key
from dvta_live.outputs import YAML_SUFFIXES, check_output, write_text_atomic

# Line breaks that YAML counts but str.split("\n") does not: with any of them, fall back to a full dump.
_ODD_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")


@dataclass(frozen=True)
class EditResult:
    """What an edit did: the labels after it and the action added or removed."""

    labels: Labels
    action: Action


def _read_for_edit(path: Path) -> str:
    if is_bundled(path):
        raise UserError("the bundled labels files are read-only", path,
                        "make your own copy: dvta labels init my-labels.yaml, then pass -f my-labels.yaml")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError("no such labels file", path, "start one: dvta labels init FILE") from None
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror}", path) from None
    try:
        return raw.decode("utf-8")  # not read_text(): that would turn CRLF into LF and rewrite every line
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 text (byte {exc.start})", path, "save the file as UTF-8") from None


def _check_editable(path: Path) -> None:
    """Before the edit: the file is replaced in place, so it is both the input and the output."""
    check_output(path, suffixes=None, option="--file")


def check_editable(path: str | Path) -> Labels:
    """The labels of a file an edit may replace (not bundled, readable, valid, writable); UserError
    otherwise. For commands that do long work (recording) before the edit."""
    p = Path(path)
    text = _read_for_edit(p)
    _check_editable(p)
    return parse_labels(text, p, allow_empty=True)


def write_atomic(path: str | Path, text: str) -> None:
    """Replace the file's contents all at once, keeping its mode and owner (see dvta_live.outputs)."""
    write_text_atomic(path, text)


def _clean(text: str) -> str:
    return " ".join(text.split())  # one line per value keeps the splice line-based


def _render_item(name: str, context: Sequence[str], aliases: Sequence[str],
                 examples: Sequence[str] = ()) -> list[str]:
    """`name: ...`, `context: ...`[, `aliases: [...]`][, `examples:` list] lines, quoted by ruamel.yaml
    where needed."""
    item = CommentedMap()
    item["name"] = name
    if len(context) == 1:
        item["context"] = context[0]
    else:
        seq = CommentedSeq(context)
        seq.fa.set_flow_style()  # `[first., second.]`: one line, as in the documented example
        item["context"] = seq
    if aliases:
        seq = CommentedSeq(aliases)
        seq.fa.set_flow_style()
        item["aliases"] = seq
    if examples:
        item["examples"] = CommentedSeq(examples)  # block style: one clip per line, easy to delete
    return _render(item)


def _render(node: Any) -> list[str]:
    yaml = YAML(typ="rt")
    yaml.width = 1 << 30  # never fold a long sentence over several lines
    yaml.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    yaml.dump(node, buf)
    return buf.getvalue().splitlines()


def _content_end(node: Node) -> tuple[int, int]:
    """(line, column) just after the last character that belongs to `node` (0-based), ignoring the
    comments and blank lines that a block collection's own end mark runs over."""
    if isinstance(node, MappingNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1][1])
    if isinstance(node, SequenceNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1])
    return node.end_mark.line, node.end_mark.column


def _last_line(node: Node) -> int:
    line, col = _content_end(node)
    return line if col > 0 else line - 1  # a block scalar ends at column 0 of the line after it


def _item_spans(text: str) -> list[tuple[int, int, int, int]] | None:
    """(first line, last line, dash column, key column) of each block item of `actions`, 0-based and
    inclusive; None when the layout is not a plain block list the splice can handle."""
    if _ODD_BREAKS.search(text):
        return None
    root = YAML(typ="rt").compose(text)
    if not isinstance(root, MappingNode):
        return None
    seq = next((v for k, v in root.value if isinstance(k, ScalarNode) and k.value == "actions"), None)
    if not isinstance(seq, SequenceNode) or seq.flow_style or not seq.value:
        return None
    lines = text.split("\n")
    spans = []
    for item in seq.value:
        if not isinstance(item, MappingNode) or item.flow_style:
            return None
        line, col = item.start_mark.line, item.start_mark.column
        prefix = lines[line][:col]
        m = re.fullmatch(r"( *)- +", prefix)
        if m:
            first, dash = line, len(m.group(1))
        elif not prefix.strip() and line > 0 and re.fullmatch(r" *-\s*", lines[line - 1].rstrip("\r")):
            first, dash = line - 1, lines[line - 1].index("-")  # "-" alone on its line, keys below
        else:
            return None
        spans.append((first, _last_line(item), dash, col))
    for (_, end, _, _), (start, _, _, _) in itertools.pairwise(spans):
        if end >= start:
            return None
    return spans


def _yaml_for_dump(text: str) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 30
    try:
        _, ind, bsi = load_yaml_guess_indent(text)
    except Exception:  # noqa: BLE001 - a guess only
        ind, bsi = None, None
    seq_indent = ind or 4
    offset = bsi if bsi is not None else 2
    yaml.indent(mapping=2, sequence=seq_indent, offset=offset)
    return yaml


def _dump(yaml: YAML, doc: Any) -> str:
    buf = io.StringIO()
    yaml.dump(doc, buf)
    return buf.getvalue()


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _insert_lines(text: str, after: int, new: list[str]) -> str:
    """``new`` lines inserted after line ``after`` (0-based), in the file's own line endings."""
    lines = text.split("\n")
    cr = "\r" if _newline(text) == "\r\n" else ""
    if after == len(lines) - 1:  # no newline after that line: the new ones end the file the same way
        lines[after] += cr
        lines.extend([x + cr for x in new[:-1]] + [new[-1]])
    else:
        lines[after + 1:after + 1] = [x + cr for x in new]
    return "\n".join(lines)


def _check_names(labels: Labels, name: str, aliases: Sequence[str], path: Path) -> None:
    for label in (name, *aliases):
        found = labels.find(label)
        if found is not None:
            raise UserError(f"`{label}` is already used by action `{found.name}` at line {found.line}", path,
                            f"choose another name, or remove it first: dvta labels remove \"{found.name}\"")
    keys = [name_key(x) for x in (name, *aliases)]
    if len(set(keys)) != len(keys):
        raise UserError("an alias repeats the name or another alias", path, "drop the repeat")


def add_action(path: str | Path, name: str, context: Sequence[str],
               aliases: Sequence[str] = (), examples: Sequence[str] = ()) -> EditResult:
    """Append an action to a labels file, keeping every other byte of the file as it was. ``examples``:
    its ``examples:`` entries as written (``path[#start-end]``, relative to the labels file)."""
    p = Path(path)
    text = _read_for_edit(p)
    _check_editable(p)
    labels = parse_labels(text, p, allow_empty=True)
    name = _clean(name)
    context = [_clean(c) for c in context]
    aliases = [_clean(a) for a in aliases]
    if not name:
        raise UserError("the action name is empty", p, "give the action a name")
    if not context or not all(context):
        raise UserError(f"`{name}` needs a non-empty context", p,
                        "add --context \"one or two sentences on the body movement\"")
    if not all(aliases):
        raise UserError("an alias is empty", p, "drop the empty --alias")
    _check_names(labels, name, aliases, p)

    body = _render_item(name, context, aliases, examples)
    spans = _item_spans(text)
    if spans is not None:
        _, last, dash, key_col = spans[-1]
        new = [" " * dash + "-" + " " * (key_col - dash - 1) + body[0]]
        new += [" " * key_col + b for b in body[1:]]
        new_text = _insert_lines(text, last, new)
    else:
        yaml = _yaml_for_dump(text)
        doc = yaml.load(text)
        item = yaml.load("\n".join(body))
        seq = doc.get("actions")
        if not isinstance(seq, CommentedSeq):
            seq = CommentedSeq()
            doc["actions"] = seq
        if not seq:
            seq.fa.set_block_style()  # `actions: []` grows into a readable block list
        seq.append(item)
        new_text = _dump(yaml, doc)

    after = parse_labels(new_text, p)
    if after.names != (*labels.names, name):  # belt and braces: never write a file we did not mean
        raise UserError("internal error: the edit did not give the expected actions; file left unchanged", p)
    write_atomic(p, new_text)
    return EditResult(after, after.actions[-1])


def _find(labels: Labels, name: str, path: Path) -> Action:
    action = labels.find(name)
    if action is None:
        keys = [name_key(n) for n in labels.names]
        close = difflib.get_close_matches(name_key(name), keys, n=1)
        hint = (f"did you mean \"{labels.names[keys.index(close[0])]}\"?" if close
                else "see the names: dvta labels list")
        raise UserError(f"no action `{name}`", path, hint)
    return action


def _splice_examples(text: str, index: int, entries: Sequence[str]) -> str | None:
    """The text with ``entries`` appended to action ``index``'s block ``examples:`` list (or a new one
    after its last line); None when the layout needs the full dump instead."""
    spans = _item_spans(text)
    if spans is None:
        return None
    root = YAML(typ="rt").compose(text)
    seq = next(v for k, v in root.value if isinstance(k, ScalarNode) and k.value == "actions")
    item = seq.value[index]
    node = next((v for k, v in item.value if isinstance(k, ScalarNode) and k.value == "examples"), None)
    rendered = _render({"examples": CommentedSeq(entries)})  # ["examples:", "  - a", ...], quoted right
    if node is None:
        _, last, _, key_col = spans[index]
        return _insert_lines(text, last, [" " * key_col + line for line in rendered])
    if not isinstance(node, SequenceNode) or node.flow_style or not node.value:
        return None
    lines = text.split("\n")
    first = node.value[0].start_mark
    m = re.fullmatch(r"( *)- +", lines[first.line][:first.column])
    if m is None:
        return None
    dash = len(m.group(1))
    return _insert_lines(text, _last_line(node), [" " * dash + line.lstrip() for line in rendered[1:]])


def add_examples(path: str | Path, name: str, entries: Sequence[str]) -> EditResult:
    """Append ``entries`` (``path[#start-end]``, relative to the labels file; the files must exist) to
    the ``examples:`` list of the action called ``name`` (or with that alias), creating the list when it
    has none; every other byte of the file stays as it was."""
    p = Path(path)
    text = _read_for_edit(p)
    _check_editable(p)
    labels = parse_labels(text, p, allow_empty=True)
    action = _find(labels, name, p)
    index = labels.actions.index(action)
    entries = [_clean(e) for e in entries]
    if not entries or not all(entries):
        raise UserError("no example to add", p, "give one or more: --example FILE[#START-END]")
    new_text = _splice_examples(text, index, entries)
    if new_text is None:
        yaml = _yaml_for_dump(text)
        doc = yaml.load(text)
        item = doc["actions"][index]
        if isinstance(item.get("examples"), CommentedSeq):
            item["examples"].extend(entries)
        else:
            item["examples"] = CommentedSeq(entries)
        new_text = _dump(yaml, doc)
    after = parse_labels(new_text, p)
    wanted = (*[e.source for e in action.examples], *entries)
    if after.names != labels.names or tuple(e.source for e in after.actions[index].examples) != wanted:
        raise UserError("internal error: the edit did not give the expected examples; file left unchanged", p)
    write_atomic(p, new_text)
    return EditResult(after, after.actions[index])


def remove_action(path: str | Path, name: str) -> EditResult:
    """Remove the action called `name` (or with that alias); comments above and below it stay."""
    p = Path(path)
    text = _read_for_edit(p)
    _check_editable(p)
    labels = parse_labels(text, p, allow_empty=True)
    action = _find(labels, name, p)
    if len(labels.actions) == 1:
        raise UserError(f"`{action.name}` is the only action; a labels file needs at least one", p,
                        "add another action first")
    index = labels.actions.index(action)

    spans = _item_spans(text)
    if spans is not None:
        lines = text.split("\n")
        first, last, _, _ = spans[index]
        if last == len(lines) - 1 and first > 0:  # no newline at the end: keep the file's last-line style
            lines[first - 1] = lines[first - 1].rstrip("\r")
        del lines[first:last + 1]
        new_text = "\n".join(lines)
    else:
        yaml = _yaml_for_dump(text)
        doc = yaml.load(text)
        del doc["actions"][index]
        new_text = _dump(yaml, doc)

    after = parse_labels(new_text, p)
    expected = tuple(n for n in labels.names if n != action.name)
    if after.names != expected:
        raise UserError("internal error: the edit did not give the expected actions; file left unchanged", p)
    write_atomic(p, new_text)
    return EditResult(after, action)


def init_labels(dest: str | Path, source: str = "everyday", *, force: bool = False) -> Path:
    """Copy a bundled labels file (or any labels file) to `dest` to edit it; refuses to overwrite."""
    d = Path(dest)
    src = Path(source) if Path(source).suffix in (".yaml", ".yml") else bundled_labels_path(source)
    if d.exists() and not force:
        raise UserError("already exists", d, "choose another name, or pass --force to overwrite it")
    if d.is_dir():
        raise UserError("is a folder", d, "give a file name such as my-labels.yaml")
    if not d.parent.is_dir():
        raise UserError("the folder does not exist", d.parent, "create it first")
    if not src.is_file():
        raise UserError("no such labels file", src, "name a bundled file (everyday, ntu120) or a .yaml file")
    check_output(d, inputs=[src], suffixes=YAML_SUFFIXES, option="DEST")
    try:
        text = src.read_bytes().decode("utf-8")  # bytes: keep the source's line endings
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 text (byte {exc.start})", src, "save the file as UTF-8") from None
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror}", src) from None
    parse_labels(text, src)
    write_atomic(d, text)
    return d
