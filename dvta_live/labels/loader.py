"""Read and validate a labels file. Every problem names the file, the 1-based line, what is wrong and the fix.

The file format (YAML):

    text_model: all-MiniLM-L6-v2     # optional
    actions:
      - name: drink water
        context: A person lifts a cup to the mouth.           # one sentence, or a list of them
        aliases: [drinking]                                    # optional
        examples:                                              # optional: recorded clips of it
          - drink-water.examples/drink-water-1.dvta.safetensors
          - takes/drinking.mp4#2-5.5                            # seconds 2 to 5.5 of a video

Example paths are relative to the labels file's folder: a video, or a skeleton file of any format the
readers know, with an optional `#START-END` stretch in seconds (no space before the `#`: YAML reads
` #` as a comment). `dvta labels add NAME --example FILE` and `dvta teach NAME` store clips and add them.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from dvta_live.errors import UserError
from dvta_live.labels.examples import RANGE_FIX, split_source
from dvta_live.labels.schema import Action, Example, Labels, name_key

TOP_KEYS = ("text_model", "actions")
ACTION_KEYS = ("name", "context", "aliases", "examples")
EXAMPLE_ACTION = "- name: clap / context: The person claps both hands in front of the chest."
ADD_ITEMS = f"add items like {EXAMPLE_ACTION}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a labels file."""

    line: int  # 1-based; 0 when the problem is the file as a whole
    message: str
    fix: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.message}" + (f" ({self.fix})" if self.fix else "")


class LabelsError(UserError):
    """An invalid labels file: the first problem as one line, all of them in `problems`."""

    def __init__(self, path: str | Path | None, problems: list[Problem]) -> None:
        first = problems[0]
        where = f"line {first.line}: " if first.line else ""
        more = f"; and {len(problems) - 1} more problem(s), see `dvta labels check`" if problems[1:] else ""
        super().__init__(f"{where}{first.message}{more}", path, first.fix)
        self.line = first.line
        self.problems = tuple(problems)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")  # round-trip loader: keeps line numbers (and comments, for the editor)
    yaml.allow_duplicate_keys = False
    return yaml


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "a mapping (key: value)"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _syntax_problem(exc: MarkedYAMLError, text: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 0
    # An error at the end of the stream is marked just past the last newline: name the last real line.
    line = min(line, max(1, len(text.splitlines())))
    problem = str(exc.problem or exc.context or "invalid YAML")
    fix = "check the indentation and quoting on that line"
    if "\\t" in problem or "\t" in problem:
        fix = "indent with spaces, not tabs"
    elif "mapping values are not allowed" in problem:
        fix = "quote text that contains ': ', e.g. context: \"The person: ...\""
    elif "duplicate key" in problem:
        fix = "each key may appear once per action; put several sentences in a context list"
    elif "end of stream" in problem:
        fix = "a quote or bracket is not closed"
    return Problem(line, f"YAML syntax error: {problem}", fix)


def parse_labels(text: str, path: str | Path | None = None, *, allow_empty: bool = False) -> Labels:
    """Parse and validate labels-file text; raise LabelsError naming the first problem and its line."""
    labels, problems = _parse(text, allow_empty=allow_empty, path=path)
    if problems:
        raise LabelsError(path, problems)
    assert labels is not None
    return labels


def check_labels(text: str, *, allow_empty: bool = False, path: str | Path | None = None) -> list[Problem]:
    """All problems of labels-file text, in file order (empty when valid). ``path``: the file the text
    is from (example paths are relative to its folder; without it, to the current folder)."""
    return _parse(text, allow_empty=allow_empty, path=path)[1]


def read_text(path: str | Path) -> str:
    """The text of a labels file, or a UserError saying why it cannot be read."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError("no such labels file", p,
                        "check the path, or start one: dvta labels init FILE") from None
    except IsADirectoryError:
        raise UserError("is a folder, not a labels file", p, "pass a .yaml file") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 text (byte {exc.start})", p, "save the file as UTF-8") from None
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror}", p) from None


def load_labels(path: str | Path, *, allow_empty: bool = False) -> Labels:
    """Read and validate a labels file (see the module docstring for the format)."""
    p = Path(path)
    return parse_labels(read_text(p), p, allow_empty=allow_empty)


def load_document(text: str) -> Any:
    """The round-trip YAML document (comments kept), for editing. Assumes the text was validated."""
    return _yaml().load(text)


def _parse(text: str, *, allow_empty: bool,
           path: str | Path | None = None) -> tuple[Labels | None, list[Problem]]:
    try:
        doc = _yaml().load(text)
    except MarkedYAMLError as exc:
        return None, [_syntax_problem(exc, text)]
    except YAMLError as exc:  # unmarked errors are rare (e.g. bad encoding declarations)
        return None, [Problem(0, f"YAML error: {exc}")]
    except RecursionError:  # thousands of nested brackets: the parser recurses once per level
        return None, [Problem(0, "the YAML is nested too deeply to read",
                              f"a labels file is a flat `actions:` list of items like {EXAMPLE_ACTION}")]
    problems: list[Problem] = []
    if doc is None:
        return None, [Problem(0, "the file is empty",
                              f"start with `actions:` and items like {EXAMPLE_ACTION}")]
    if not isinstance(doc, CommentedMap):
        return None, [Problem(1, f"the file must be a mapping with an `actions:` list, not {_kind(doc)}",
                              "start the file with `actions:`")]

    for key in doc:
        if key not in TOP_KEYS:
            problems.append(_unknown_key(doc, key, TOP_KEYS, "top-level"))

    text_model = doc.get("text_model")
    if "text_model" in doc and (not isinstance(text_model, str) or not text_model.strip()):
        problems.append(Problem(doc.lc.key("text_model")[0] + 1,
                                f"text_model must be a model name or folder, got {_kind(text_model)}",
                                "e.g. text_model: all-MiniLM-L6-v2, or delete the line for the default"))
        text_model = None

    actions: list[Action] = []
    if "actions" not in doc:
        problems.append(Problem(0, "no `actions:` list", f"add `actions:` with items like {EXAMPLE_ACTION}"))
    else:
        seq = doc["actions"]
        actions_line = doc.lc.key("actions")[0] + 1
        if seq is None:
            if not allow_empty:
                problems.append(Problem(actions_line, "`actions:` is empty", ADD_ITEMS))
        elif not isinstance(seq, CommentedSeq):
            problems.append(Problem(actions_line, f"`actions` must be a list of actions, not {_kind(seq)}",
                                    "write each action on its own `- name: ...` item"))
        else:
            if len(seq) == 0 and not allow_empty:
                problems.append(Problem(actions_line, "`actions:` is empty", ADD_ITEMS))
            named: list[Action] = []  # every item with a usable name, even if its context is bad
            base_dir = Path(path).parent if path is not None else Path(".")
            for i, item in enumerate(seq):
                action = _parse_action(seq, i, item, problems, named, base_dir)
                if action is not None:
                    actions.append(action)
            _check_duplicates(named, problems)

    problems.sort(key=lambda p: p.line)
    if problems:
        return None, problems
    model = text_model.strip() if isinstance(text_model, str) else None
    return Labels(tuple(actions), model, None if path is None else Path(path)), []


def _unknown_key(mapping: CommentedMap, key: Any, allowed: tuple[str, ...], where: str) -> Problem:
    line = mapping.lc.key(key)[0] + 1
    close = difflib.get_close_matches(str(key), allowed, n=1)
    fix = f"did you mean `{close[0]}`?" if close else f"allowed: {', '.join(allowed)}"
    return Problem(line, f"unknown {where} key `{key}`", fix)


def _text_list(value: Any, field_name: str, action: str, problems: list[Problem],
               line: int) -> tuple[str, ...] | None:
    """A string or a list of strings -> stripped tuple; problems for anything else or empty text."""
    if isinstance(value, str):
        if not value.strip():
            problems.append(Problem(line, f"{field_name} of `{action}` is empty",
                                    "write a sentence on the body movement" if field_name == "context"
                                    else "remove the empty entry"))
            return None
        return (value.strip(),)
    if isinstance(value, CommentedSeq):
        if len(value) == 0:
            problems.append(Problem(line, f"{field_name} of `{action}` is an empty list",
                                    "add at least one sentence" if field_name == "context"
                                    else "delete the line"))
            return None
        out: list[str] = []
        ok = True
        for j, item in enumerate(value):
            item_line = value.lc.item(j)[0] + 1
            if not isinstance(item, str):
                problems.append(Problem(item_line, f"{field_name} item {j + 1} of `{action}` must be text, "
                                        f"not {_kind(item)}", "quote it"))
                ok = False
            elif not item.strip():
                problems.append(Problem(item_line, f"{field_name} item {j + 1} of `{action}` is empty",
                                        "remove the empty entry"))
                ok = False
            else:
                out.append(item.strip())
        return tuple(out) if ok else None
    if value is None:
        problems.append(Problem(line, f"{field_name} of `{action}` is empty",
                                "write a sentence on the body movement" if field_name == "context" else
                                "delete the line"))
        return None
    problems.append(Problem(line, f"{field_name} of `{action}` must be text or a list of texts, "
                            f"not {_kind(value)}",
                            "quote it" if isinstance(value, (bool, int, float)) else
                            "write one sentence, or a list: [first sentence., second sentence.]"))
    return None


def _examples(value: Any, action: str, problems: list[Problem], line: int,
              base_dir: Path) -> tuple[Example, ...] | None:
    """An `examples:` list of `path[#start-end]` entries -> Examples with paths resolved against the
    labels file's folder; a problem (with the entry's line) for anything else or a file that is not there."""
    fix_list = "write one `- path[#start-end]` item per clip, e.g. - takes/wave.mp4#2-5.5"
    if value is None:
        problems.append(Problem(line, f"examples of `{action}` is empty", f"{fix_list}, or delete the line"))
        return None
    if not isinstance(value, CommentedSeq):
        problems.append(Problem(line, f"examples of `{action}` must be a list of clip files, not {_kind(value)}",
                                fix_list))
        return None
    out: list[Example] = []
    ok = True
    for j, item in enumerate(value):
        item_line = value.lc.item(j)[0] + 1
        if not isinstance(item, str) or not item.strip():
            what = "is empty" if isinstance(item, str) or item is None else f"must be a file path, not {_kind(item)}"
            problems.append(Problem(item_line, f"example {j + 1} of `{action}` {what}",
                                    "write the clip's path, e.g. - takes/wave.mp4#2-5.5"))
            ok = False
            continue
        try:
            path_text, start, end = split_source(item)
        except ValueError as exc:
            problems.append(Problem(item_line, f"example {j + 1} of `{action}`: {exc}", RANGE_FIX))
            ok = False
            continue
        target = Path(os.path.abspath(base_dir / Path(path_text).expanduser()))
        if not target.is_file():
            what = "is a folder, not a clip file" if target.is_dir() else "does not exist"
            problems.append(Problem(item_line, f"example {j + 1} of `{action}` ({path_text}) {what}: {target}",
                                    "paths are relative to the labels file's folder; fix the path or "
                                    "delete the entry"))
            ok = False
            continue
        out.append(Example(item.strip(), target, start, end, item_line))
    return tuple(out) if ok else None


def _parse_action(seq: CommentedSeq, i: int, item: Any, problems: list[Problem],
                  named: list[Action], base_dir: Path = Path(".")) -> Action | None:
    line = seq.lc.item(i)[0] + 1
    if not isinstance(item, CommentedMap):
        problems.append(Problem(line, f"action {i + 1} must be a mapping with name and context, "
                                f"not {_kind(item)}",
                                f"write it as {EXAMPLE_ACTION}"))
        return None
    bad = False
    for key in item:
        if key not in ACTION_KEYS:
            problems.append(_unknown_key(item, key, ACTION_KEYS, "action"))
            bad = True
    name = item.get("name")
    name_line = item.lc.key("name")[0] + 1 if "name" in item else line
    if bad and ("name" not in item or "context" not in item):
        return None  # a misspelt key (reported above, with a suggestion) explains the missing one
    if "name" not in item:
        problems.append(Problem(line, f"action {i + 1} has no name", "add `name: <what the person does>`"))
        return None
    if name is not None and not isinstance(name, str):
        problems.append(Problem(name_line, f"name of action {i + 1} must be text, not {_kind(name)}",
                                "quote it"))
        return None
    if name is None or not name.strip():
        problems.append(Problem(name_line, f"name of action {i + 1} is empty", "write what the person does"))
        return None
    name = name.strip()
    aliases: tuple[str, ...] | None = ()
    if "aliases" in item:
        aliases = _text_list(item["aliases"], "aliases", name, problems, item.lc.key("aliases")[0] + 1)
    context: tuple[str, ...] | None = None
    if "context" not in item:
        problems.append(Problem(line, f"action `{name}` has no context",
                                "add `context: <one or two sentences on the body movement>`"))
    else:
        context = _text_list(item["context"], "context", name, problems, item.lc.key("context")[0] + 1)
    examples: tuple[Example, ...] | None = ()
    if "examples" in item:
        examples = _examples(item["examples"], name, problems, item.lc.key("examples")[0] + 1, base_dir)
    action = Action(name, context or (), aliases or (), line, examples or ())
    named.append(action)  # duplicates are worth reporting even when something else is wrong too
    if context is None or aliases is None or examples is None or bad:
        return None
    return action


def _check_duplicates(actions: list[Action], problems: list[Problem]) -> None:
    seen: dict[str, Action] = {}
    for action in actions:
        own: set[str] = set()
        for label in (action.name, *action.aliases):
            key = name_key(label)
            if key in own:
                problems.append(Problem(action.line, f"`{label}` is repeated within action `{action.name}`",
                                        "remove the repeated alias"))
                continue
            own.add(key)
            first = seen.get(key)
            if first is not None:
                what = "duplicate action name" if label == action.name else "alias"
                problems.append(Problem(action.line, f"{what} `{label}` (already used by `{first.name}` at "
                                        f"line {first.line}; names are compared ignoring case and spaces)",
                                        "rename one of them or remove the duplicate"))
            else:
                seen[key] = action
