"""The labels file: validation with line numbers, comment-preserving CLI edits, cached encoding with the
real packaged all-MiniLM-L6-v2, hot reload and its atomic swap. Nothing here is mocked: the model runs."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before huggingface_hub is imported anywhere: never the network

import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dvta_live.cli.labels import labels_app as app
from dvta_live.errors import UserError
from dvta_live.labels import (
    EmbeddingCache,
    LabelsError,
    LabelsWatcher,
    TextEncoder,
    bundled_labels,
    bundled_labels_path,
    check_labels,
    default_cache_root,
    encode_labels,
    load_labels,
    packaged_model_path,
    parse_labels,
    resolve_model,
)
from dvta_live.labels.edit import write_atomic
from dvta_live.labels.encoder import PACKAGED_ID, load_model

from conftest import REPO, shared_path

runner = CliRunner()

SAMPLE = """\
# my actions
# (a second comment line)

text_model: all-MiniLM-L6-v2      # optional; a sentence-transformers name or local path
actions:
  # --- hands ---
  - name: wave with the left hand   # eol comment
    context: The person raises the left arm and moves the open hand from side to side.
  - name: drink water
    context: [A person lifts a cup to the mouth., They tilt the head back slightly.]
    aliases: [drinking]

  # --- body ---
  - name: "sit down"
    context:
      - The person bends the knees and lowers onto a chair.   # nested comment
      - 'The back ends up against the backrest.'
  - name: jump
    context: >-
      The person springs up
      with both feet.
# end of file
"""


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets an empty cache root, so cold/warm counts are its own."""
    root = tmp_path_factory.mktemp("dvta-cache")
    monkeypatch.setenv("DVTA_CACHE", str(root))
    return root


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text that actually reaches the (real, shared) packaged model during the test."""
    model = load_model(resolve_model(None))
    texts: list[str] = []
    real = model.encode

    def spy(inputs, *args, **kwargs):  # type: ignore[no-untyped-def]
        texts.extend([inputs] if isinstance(inputs, str) else list(inputs))
        return real(inputs, *args, **kwargs)

    monkeypatch.setattr(model, "encode", spy)
    return texts


def flat(output: str) -> str:
    """CLI output with rich's line wrapping undone."""
    return " ".join(output.split())


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- bundled files ------------------------------------------------------------------------------------

def test_bundled_files_are_package_data_and_valid() -> None:
    found = bundled_labels()
    assert set(found) >= {"everyday", "ntu120"}
    for name, path in found.items():
        assert path.is_file() and path.parent == REPO / "dvta_live" / "assets" / "labels"
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# ") and "Format (YAML)" in text, f"{name}: explain the format at the top"
        labels = load_labels(path)
        assert labels.text_model == "all-MiniLM-L6-v2"
        assert all(a.context for a in labels.actions)
    everyday = load_labels(bundled_labels_path())
    assert 15 <= len(everyday) <= 25
    tried = {"wave with the right hand", "clap", "drink water", "sit down", "stand up", "jump"}
    assert tried <= set(everyday.names)


def test_ntu120_names_are_the_standard_list_in_order() -> None:
    label_map = shared_path("data", "ntu", "label_map_ntu120.txt").read_text(encoding="utf-8").splitlines()
    labels = load_labels(bundled_labels_path("ntu120"))
    assert len(labels) == 120
    assert labels.names == tuple(label_map)
    assert labels.names[0] == "drink water" and "rock-paper-scissors" in labels.names[119]


def test_ntu120_contexts_are_written_for_this_project() -> None:
    """No 8-word run of our descriptions occurs in any published description file beside the data."""
    text_dir = shared_path("data", "text")

    def grams(t: str, n: int = 8) -> set[tuple[str, ...]]:
        w = re.findall(r"[a-z']+", t.lower())
        return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}

    published: set[tuple[str, ...]] = set()
    for f in text_dir.rglob("*"):
        if f.is_file() and f.suffix in (".txt", ".csv", ".tsv", ".md", ""):
            published |= grams(f.read_text(encoding="utf-8", errors="ignore"))
    ours = [c for a in load_labels(bundled_labels_path("ntu120")).actions for c in a.context]
    assert len(ours) == 120 and len(set(ours)) == 120
    copied = [c for c in ours if grams(c) & published]
    assert not copied


# --- validation ---------------------------------------------------------------------------------------

BAD_FILES = [
    # (what, file text, line the error must name, words the message must contain)
    ("duplicate name, case and spaces differ", """\
actions:
  - name: drink water
    context: Lifts a cup.
  - name: Drink   Water
    context: Drinks again.
""", 4, ["duplicate action name", "Drink   Water", "line 2"]),
    ("alias clashes with a name", """\
actions:
  - name: clap
    context: Hands meet.
  - name: applaud
    context: Hands meet loudly.
    aliases: [CLAP]
""", 4, ["alias", "CLAP", "clap"]),
    ("empty context string", """\
actions:
  - name: clap
    context: "   "
""", 3, ["context", "empty"]),
    ("empty context list", """\
actions:
  - name: clap
    context: []
""", 3, ["empty list"]),
    ("empty sentence inside a context list", """\
actions:
  - name: clap
    context:
      - Hands meet.
      - ""
""", 5, ["context item 2", "empty"]),
    ("empty name", """\
actions:
  - name: x
    context: ok.
  - name:
    context: Something.
""", 4, ["name of action 2", "empty"]),
    ("missing context", """\
actions:
  - name: clap
    context: Hands meet.
  - name: wave
""", 4, ["`wave` has no context"]),
    ("unknown action key with a suggestion", """\
actions:
  - name: clap
    contxt: Hands meet.
""", 3, ["unknown action key `contxt`", "did you mean `context`"]),
    ("unknown top-level key", """\
text_model: all-MiniLM-L6-v2
labels:
  - name: clap
actions:
  - name: clap
    context: Hands meet.
""", 2, ["unknown top-level key `labels`"]),
    ("name of the wrong type", """\
actions:
  - name: 42
    context: A number is not an action.
""", 2, ["must be text", "a number", "quote it"]),
    ("context of the wrong type", """\
actions:
  - name: clap
    context: {hands: meet}
""", 3, ["context of `clap` must be text or a list", "mapping"]),
    ("actions not a list", """\
actions: clap your hands
""", 1, ["`actions` must be a list"]),
    ("an action that is a plain string", """\
actions:
  - name: clap
    context: Hands meet.
  - wave
""", 4, ["action 2 must be a mapping"]),
    ("text_model of the wrong type", """\
text_model: [a, b]
actions:
  - name: clap
    context: Hands meet.
""", 1, ["text_model must be"]),
    ("YAML: unquoted colon", """\
actions:
  - name: clap
    context: Hands meet.
  - name: wave
    context: The person: waves.
""", 5, ["YAML syntax error", "mapping values", "quote"]),
    ("YAML: tab indentation", "actions:\n  - name: clap\n\tcontext: x\n", 3, ["YAML syntax error", "tabs"]),
    ("YAML: unclosed bracket", """\
actions:
  - name: clap
    context: [Hands meet.
  - name: wave
    context: x
""", 4, ["YAML syntax error"]),
    ("YAML: key repeated in one action", """\
actions:
  - name: clap
    context: Hands meet.
    context: Again.
""", 4, ["duplicate key", "context list"]),
]


@pytest.mark.parametrize("what,text,line,needles", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_validation_names_file_line_and_problem(tmp_path: Path, what: str, text: str, line: int,
                                                needles: list[str]) -> None:
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(LabelsError) as info:
        load_labels(path)
    err = info.value
    message = str(err)
    assert isinstance(err, UserError)
    assert err.line == line, message
    assert message.startswith(f"{path}: line {line}: "), message
    for needle in needles:
        assert needle in message, (needle, message)
    assert "\n" not in message


def test_validation_of_empty_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(LabelsError, match="the file is empty"):
        load_labels(write(tmp_path / "empty.yaml", "# only a comment\n"))
    with pytest.raises(LabelsError, match="no `actions:` list"):
        load_labels(write(tmp_path / "noactions.yaml", "text_model: x\n"))
    with pytest.raises(UserError, match="no such labels file"):
        load_labels(tmp_path / "absent.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("actions:\n  - name: caf\xe9\n    context: x\n".encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8"):
        load_labels(latin)


def test_check_reports_every_problem_in_line_order() -> None:
    problems = check_labels(textwrap.dedent("""\
        bogus: 1
        actions:
          - name: clap
            context: Hands meet.
          - name: CLAP
            context: again
          - name: nod
            context: ""
          - name: wave
            context: ok
            extra: 2
        """))
    assert [p.line for p in problems] == [1, 5, 8, 11]


def test_valid_file_fields_and_lines(tmp_path: Path) -> None:
    labels = load_labels(write(tmp_path / "ok.yaml", SAMPLE))
    assert labels.text_model == "all-MiniLM-L6-v2" and labels.path == tmp_path / "ok.yaml"
    assert labels.names == ("wave with the left hand", "drink water", "sit down", "jump")
    drink = labels.actions[1]
    assert drink.context == ("A person lifts a cup to the mouth.", "They tilt the head back slightly.")
    assert drink.aliases == ("drinking",) and drink.line == 9
    assert labels.actions[3].context == ("The person springs up with both feet.",)
    assert labels.find("  DRINKING ") is drink and labels.find("run") is None
    with pytest.raises(FrozenInstanceError):
        drink.name = "x"  # type: ignore[misc]


# --- CLI: list / check / encode / add / remove ---------------------------------------------------------

def test_cli_list_check_encode(tmp_path: Path) -> None:
    path = write(tmp_path / "mine.yaml", SAMPLE)
    result = runner.invoke(app, ["list", "-f", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "drink water" in result.output and "4 actions" in flat(result.output)
    result = runner.invoke(app, ["check", "--file", str(path)])
    assert result.exit_code == 0 and flat(result.output).startswith(f"ok {path}: 4 actions, text model")
    out = tmp_path / "text.safetensors"
    result = runner.invoke(app, ["encode", "-f", str(path), "--json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    import json

    summary = json.loads(result.output)
    assert summary["classes"] == 4 and summary["dim"] == 384 and summary["model"] == PACKAGED_ID
    assert summary["texts"] == 4 + 6 and summary["encoded"] + summary["cached"] == 10
    from dvta_live.labels import TextTensor

    saved = TextTensor.load(out)
    assert saved.names == load_labels(path).names and saved.model == PACKAGED_ID
    assert saved.embeddings.shape == (4, 2, 384) and saved.dim == 384
    npz = saved.save(tmp_path / "text.npz")
    np.testing.assert_array_equal(TextTensor.load(npz).embeddings, saved.embeddings)
    assert TextTensor.load(npz).names == saved.names
    result = runner.invoke(app, ["list"])  # default: the bundled everyday file
    assert result.exit_code == 0 and "everyday.yaml" in flat(result.output)


def test_cli_check_bad_file_raises_user_error(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", BAD_FILES[0][1])
    result = runner.invoke(app, ["check", "-f", str(path)])
    assert result.exit_code != 0
    assert isinstance(result.exception, LabelsError) and "line 4" in str(result.exception)
    several = write(tmp_path / "several.yaml", "bogus: 1\nactions:\n  - name: a\n    context: ''\n")
    result = runner.invoke(app, ["check", "-f", str(several)])
    assert isinstance(result.exception, UserError)
    assert "2 problems (listed above); the first is on line 1" in str(result.exception)


def test_cli_add_remove_round_trip_keeps_every_other_byte(tmp_path: Path) -> None:
    path = write(tmp_path / "mine.yaml", SAMPLE)
    original = path.read_bytes()
    result = runner.invoke(app, ["add", "wave with the right hand", "-f", str(path),
                                 "--context", "The person raises the right arm: then waves, #happily.",
                                 "--context", "The palm faces the camera.", "--alias", "wave right"])
    assert result.exit_code == 0, result.output
    added = path.read_bytes()
    # Exactly three new lines, inserted after the last action's text and before the final comment.
    before, _ = original.split(b"# end of file\n")
    assert added.startswith(before) and added.endswith(b"# end of file\n")
    new_lines = added[len(before):-len(b"# end of file\n")].decode().splitlines()
    assert new_lines == [
        "  - name: wave with the right hand",
        "    context: ['The person raises the right arm: then waves, #happily.', The palm faces the camera.]",
        "    aliases: [wave right]",
    ]
    labels = load_labels(path)
    assert labels.actions[-1].context[0] == "The person raises the right arm: then waves, #happily."
    assert labels.actions[-1].line == 22
    # Remove it again (by alias, in other case): the file is the original, byte for byte.
    result = runner.invoke(app, ["remove", "WAVE RIGHT", "-f", str(path)])
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == original


def test_cli_remove_middle_action_touches_only_its_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "mine.yaml", SAMPLE)
    lines = SAMPLE.splitlines(keepends=True)
    result = runner.invoke(app, ["remove", "sit down", "-f", str(path)])
    assert result.exit_code == 0, result.output
    # "sit down" spans lines 14-17 (its block list and nested comment go with it; the section comment stays).
    assert path.read_text() == "".join(lines[:13] + lines[17:])
    assert load_labels(path).names == ("wave with the left hand", "drink water", "jump")
    result = runner.invoke(app, ["remove", "jump", "-f", str(path)])  # a folded block scalar, then a comment
    assert result.exit_code == 0
    assert path.read_text() == "".join(lines[:13] + lines[21:])


def test_cli_edits_keep_crlf_and_missing_final_newline(tmp_path: Path) -> None:
    text = "# crlf file\r\nactions:\r\n    -   name: clap\r\n        context: Hands meet.\r\n" \
           "    -   name: wave\r\n        context: A hand waves."
    path = tmp_path / "crlf.yaml"
    path.write_bytes(text.encode())
    assert runner.invoke(app, ["add", "nod", "-c", "The head dips.", "-f", str(path)]).exit_code == 0
    data = path.read_bytes().decode()
    assert data == text + "\r\n    -   name: nod\r\n        context: The head dips."
    assert runner.invoke(app, ["remove", "nod", "-f", str(path)]).exit_code == 0
    assert path.read_bytes().decode() == text


def test_cli_add_to_flow_style_and_empty_lists(tmp_path: Path) -> None:
    path = write(tmp_path / "flow.yaml", "# keep me\nactions: [{name: clap, context: Hands meet.}]  # eol\n")
    assert runner.invoke(app, ["add", "nod", "-c", "The head dips.", "-f", str(path)]).exit_code == 0
    assert load_labels(path).names == ("clap", "nod") and "# keep me" in path.read_text()
    path = write(tmp_path / "empty.yaml", "# start here\nactions: []\n")
    assert runner.invoke(app, ["add", "nod", "-c", "The head dips.", "-f", str(path)]).exit_code == 0
    assert path.read_text().startswith("# start here\n") and load_labels(path).names == ("nod",)


def test_cli_edit_errors_are_user_errors(tmp_path: Path) -> None:
    path = write(tmp_path / "mine.yaml", SAMPLE)
    original = path.read_bytes()
    cases = [
        (["add", "Drink  WATER", "-c", "again", "-f", str(path)],
         "already used by action `drink water` at line 9"),
        (["add", "nod", "-c", "  ", "-f", str(path)], "non-empty context"),
        (["remove", "drink watr", "-f", str(path)], 'did you mean "drink water"'),
        (["remove", "clap"], "read-only"),  # the bundled file
        (["add", "nod", "-c", "x", "-f", str(tmp_path / "absent.yaml")], "no such labels file"),
    ]
    for args, needle in cases:
        result = runner.invoke(app, args)
        assert result.exit_code != 0
        assert isinstance(result.exception, UserError), (args, result.exception)
        assert needle in str(result.exception), (needle, str(result.exception))
    assert path.read_bytes() == original
    bad = write(tmp_path / "bad.yaml", BAD_FILES[0][1])
    result = runner.invoke(app, ["add", "nod", "-c", "x", "-f", str(bad)])
    assert isinstance(result.exception, LabelsError) and result.exception.line == 4


def test_cli_init_copies_a_bundled_file(tmp_path: Path) -> None:
    dest = tmp_path / "my-ntu.yaml"
    result = runner.invoke(app, ["init", str(dest), "--from", "ntu120"])
    assert result.exit_code == 0, result.output
    assert dest.read_bytes() == bundled_labels_path("ntu120").read_bytes()
    result = runner.invoke(app, ["init", str(dest)])
    assert isinstance(result.exception, UserError) and "--force" in str(result.exception)
    result = runner.invoke(app, ["init", str(tmp_path / "x.yaml"), "--from", "nonesuch"])
    assert isinstance(result.exception, UserError) and "everyday" in str(result.exception)


# --- encoding and the cache ---------------------------------------------------------------------------

def test_text_tensor_shape_pooling_and_immutability(tmp_path: Path) -> None:
    labels = load_labels(write(tmp_path / "mine.yaml", SAMPLE))
    tensor = encode_labels(labels)
    assert tensor.embeddings.shape == (4, 2, 384) and tensor.embeddings.dtype == np.float32
    assert tensor.dim == 384 and tensor.model == PACKAGED_ID and tensor.names == labels.names
    np.testing.assert_allclose(np.linalg.norm(tensor.embeddings, axis=-1), 1.0, atol=1e-5)
    # A list context: each sentence encoded on its own, mean-pooled, re-normalised.
    enc = TextEncoder()
    sentences = enc.encode_texts(labels.actions[1].context)
    pooled = sentences.mean(axis=0)
    np.testing.assert_allclose(tensor.embeddings[1, 1], pooled / np.linalg.norm(pooled), atol=1e-5)
    np.testing.assert_allclose(tensor.embeddings[1, 0], enc.encode_texts(["drink water"])[0], atol=1e-5)
    with pytest.raises(ValueError):
        tensor.embeddings[0, 0, 0] = 1.0
    with pytest.raises(FrozenInstanceError):
        tensor.model = "other"  # type: ignore[misc]


def test_editing_one_of_120_labels_encodes_exactly_one_text(tmp_path: Path, sent: list[str]) -> None:
    path = tmp_path / "ntu.yaml"
    shutil.copy(bundled_labels_path("ntu120"), path)
    first = encode_labels(load_labels(path))
    assert len(sent) == 240 and first.embeddings.shape == (120, 2, 384)  # cold: 120 names + 120 contexts

    text = path.read_text(encoding="utf-8")
    new_context = "The person lifts a glass of water to the lips and drinks in small sips."
    old_context = load_labels(path).actions[0].context[0]
    write(path, text.replace(old_context, new_context))
    sent.clear()
    second = encode_labels(load_labels(path))
    assert sent == [new_context]
    assert not np.allclose(second.embeddings[0, 1], first.embeddings[0, 1])
    np.testing.assert_array_equal(second.embeddings[1:], first.embeddings[1:])

    # A new process has an empty memory cache: everything comes from disk, nothing is encoded.
    sent.clear()
    fresh = TextEncoder()
    again = fresh.encode_labels(load_labels(path))
    assert sent == [] and fresh.cache.stats.disk_hits == 240
    np.testing.assert_array_equal(again.embeddings, second.embeddings)

    # Renaming one action and adding a sentence to another: two texts.
    write(path, path.read_text(encoding="utf-8").replace("- name: clapping", "- name: clap hands")
          .replace(f"context: {new_context}", f"context: [{new_context}, Then the glass comes down.]"))
    sent.clear()
    encode_labels(load_labels(path))
    assert sorted(sent) == ["Then the glass comes down.", "clap hands"]


def test_corrupt_cache_entries_are_detected_and_rewritten(tmp_path: Path, sent: list[str]) -> None:
    labels = parse_labels("actions:\n  - name: clap\n    context: Hands meet.\n"
                          "  - name: nod\n    context: The head dips.\n")
    first = TextEncoder().encode_labels(labels)
    files = sorted((Path(os.environ["DVTA_CACHE"]) / "text").rglob("*.emb"))
    assert len(files) == 4
    files[0].write_bytes(files[0].read_bytes()[:-7])  # truncated, as by a crash
    blob = bytearray(files[1].read_bytes())
    blob[20] ^= 0xFF  # one flipped byte in the vector
    files[1].write_bytes(bytes(blob))
    files[2].write_bytes(b"garbage")
    sent.clear()
    enc = TextEncoder()
    second = enc.encode_labels(labels)
    assert len(sent) == 3 and enc.cache.stats.corrupt == 3 and enc.cache.stats.disk_hits == 1
    np.testing.assert_allclose(second.embeddings, first.embeddings, atol=1e-6)
    sent.clear()
    third = TextEncoder()
    third.encode_labels(labels)  # rewritten entries are good again
    assert sent == [] and third.cache.stats.disk_hits == 4


_WRITER = r"""
import sys, numpy as np
from dvta_live.labels.cache import EmbeddingCache
root, seed = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(seed)
def vec(i):
    return np.random.default_rng(i).standard_normal(384).astype(np.float32)
bad = 0
for step in range(600):
    i = int(rng.integers(0, 50))
    cache = EmbeddingCache("test-model", root)  # a fresh object: no memory layer, disk only
    got = cache.get(f"text {i}")
    if got is not None and not np.array_equal(got, vec(i)):
        bad += 1
    cache.put(f"text {i}", vec(i))
    bad += cache.stats.corrupt + cache.stats.write_errors
print(bad)
"""


def test_cache_is_safe_with_concurrent_writer_processes(tmp_path: Path) -> None:
    """Four processes write and read the same 50 entries at once: no reader ever sees a broken entry."""
    # subprocesses: the cache's file locking and atomic writes are between processes (what is tested)
    root = tmp_path / "shared-cache"
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(root), str(seed)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for seed in range(4)]
    outputs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
        assert out.strip() == "0", (out, err)
    cache = EmbeddingCache("test-model", root)
    for i in range(50):
        want = np.random.default_rng(i).standard_normal(384).astype(np.float32)
        assert np.array_equal(cache.get(f"text {i}"), want)
    assert not list(root.rglob("*.tmp"))  # no temp files left behind
    # Entries are keyed by model too: the same text under another model is a miss.
    assert EmbeddingCache("another-model", root).get("text 1") is None


def test_cache_root_default_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVTA_CACHE", str(tmp_path / "c"))
    assert default_cache_root() == tmp_path / "c" / "text"
    monkeypatch.delenv("DVTA_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert default_cache_root() == tmp_path / "xdg" / "dvta-live" / "text"  # the one cache root
    enc = TextEncoder(cache_dir=tmp_path / "explicit")
    enc.encode_texts(["clap"])
    assert list((tmp_path / "explicit").rglob("*.emb"))


# --- the model -----------------------------------------------------------------------------------------

# Each pair: (anchor, a paraphrase of the same action, an unrelated action). The paraphrase shares the
# movement (and mostly not the words); the unrelated one uses another body part or posture. Any sensible
# sentence embedding must rank the paraphrase first, by a clear margin.
PAIRS = [
    ("drink water", "drinking from a cup", "kick something"),
    ("sit down", "take a seat on a chair", "wave with the right hand"),
    ("wave with the right hand", "hand waving", "brushing teeth"),
    ("clapping", "applaud with both hands", "falling down"),
    ("make a phone call", "answer the phone", "put on a shoe"),
    ("jump up", "hop into the air", "read a book"),
    ("put on a hat", "wear a cap", "take off a shoe"),
    ("falling", "collapse to the floor", "clapping"),
]


def test_packaged_model_gives_meaningful_embeddings() -> None:
    enc = TextEncoder()
    for anchor, close, far in PAIRS:
        a, c, f = enc.encode_texts([anchor, close, far])
        assert float(a @ c) > float(a @ f) + 0.1, (anchor, close, float(a @ c), far, float(a @ f))


def test_ntu120_names_find_their_own_context() -> None:
    """Our written contexts describe their actions: the name's nearest contexts include its own."""
    tensor = encode_labels(load_labels(bundled_labels_path("ntu120")))
    sim = tensor.embeddings[:, 0] @ tensor.embeddings[:, 1].T
    rank = (sim > np.diag(sim)[:, None]).sum(axis=1)
    assert (rank < 5).mean() >= 0.9, [tensor.names[i] for i in np.flatnonzero(rank >= 5)]


def test_model_resolution(tmp_path: Path) -> None:
    packaged = packaged_model_path()
    for spec in (None, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "ALL-MINILM-L6-V2"):
        ref = resolve_model(spec)
        assert ref.kind == "packaged" and Path(ref.target) == packaged and ref.name == PACKAGED_ID
    # A local folder (here a link to the packaged files), relative to the labels file when named there.
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mini").symlink_to(packaged, target_is_directory=True)
    path = write(tmp_path / "mine.yaml",
                 "text_model: models/mini\nactions:\n  - name: clap\n    context: Hands meet.\n")
    tensor = encode_labels(load_labels(path))
    assert tensor.model == str(packaged.resolve())
    np.testing.assert_allclose(tensor.embeddings, encode_labels(load_labels(path), model=None).embeddings)
    default = encode_labels(load_labels(path), model="all-MiniLM-L6-v2")
    np.testing.assert_allclose(tensor.embeddings, default.embeddings, atol=1e-5)
    with pytest.raises(UserError, match="not found"):
        resolve_model("./no/such/folder")
    with pytest.raises(UserError, match="cannot load text model 'no-such-org/no-such-model'"):
        TextEncoder("no-such-org/no-such-model").encode_texts(["x"])


# --- hot reload ----------------------------------------------------------------------------------------

def test_watcher_reloads_rejects_bad_edits_and_recovers(tmp_path: Path, sent: list[str]) -> None:
    path = write(tmp_path / "live.yaml", SAMPLE)
    changes: list[int] = []
    watcher = LabelsWatcher(path, min_interval=0.0, on_change=lambda s: changes.append(s.generation))
    first = watcher.state
    assert first.generation == 1 and first.error is None and first.text.names == first.labels.names
    assert watcher.status == "labels: 4 actions, all-MiniLM-L6-v2"
    assert watcher.poll() is False  # nothing changed

    sent.clear()
    write_atomic(path, SAMPLE.replace("  - name: jump",
                                      "  - name: nod\n    context: The head dips.\n  - name: jump"))
    assert watcher.poll() is True
    assert watcher.labels.names == ("wave with the left hand", "drink water", "sit down", "nod", "jump")
    assert sorted(sent) == ["The head dips.", "nod"] and changes == [2]
    good = watcher.state

    write(path, SAMPLE.replace("  - name: jump", "  - name: Drink Water\n    context: again\n  - name: jump"))
    assert watcher.poll() is False
    assert watcher.text is good.text and watcher.labels is good.labels  # the last good labels stay
    assert watcher.error is not None
    assert "line 18" in watcher.error and "duplicate action name" in watcher.error
    assert watcher.status.startswith("labels edit rejected, keeping 5 actions")

    write(path, "actions: [")  # a half-saved file
    watcher.poll()
    assert watcher.text is good.text and "YAML syntax error" in (watcher.error or "")

    path.unlink()
    watcher.poll()
    assert watcher.text is good.text and "missing" in (watcher.error or "")

    write(path, SAMPLE)  # fixed: back to the original, all from the cache
    sent.clear()
    assert watcher.poll() is True
    assert watcher.error is None and watcher.state.generation == 3 and sent == []
    assert watcher.labels.names == first.labels.names
    np.testing.assert_array_equal(watcher.text.embeddings, first.text.embeddings)


def test_watcher_comment_edit_keeps_the_tensor_and_a_restored_file_clears_the_error(tmp_path: Path) -> None:
    path = write(tmp_path / "live.yaml", SAMPLE)
    watcher = LabelsWatcher(path, min_interval=0.0)
    before = watcher.state
    write_atomic(path, "# a new comment on top\n" + SAMPLE)
    assert watcher.poll() is False  # nothing to re-encode, nothing for consumers to rebuild
    assert watcher.text is before.text and watcher.state.generation == 1
    assert watcher.labels.actions[0].line == before.labels.actions[0].line + 1  # but the lines are current
    saved = path.read_bytes()
    path.unlink()
    watcher.poll()
    assert "missing" in (watcher.error or "")
    path.write_bytes(saved)  # the very same content comes back
    watcher.poll()
    assert watcher.error is None and watcher.text is before.text


def test_watcher_sees_same_size_edit_in_the_same_mtime_tick(tmp_path: Path) -> None:
    path = write(tmp_path / "live.yaml", SAMPLE)
    st = path.stat()
    watcher = LabelsWatcher(path, min_interval=0.0)
    write(path, SAMPLE.replace("name: jump", "name: hops"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime, same inode
    watcher.rehash_interval = 0.0
    assert watcher.poll() is True and "hops" in watcher.labels.names


def test_watcher_poll_is_cheap_when_nothing_changed(tmp_path: Path) -> None:
    watcher = LabelsWatcher(write(tmp_path / "live.yaml", SAMPLE))  # default min_interval: 0.2 s
    start = time.perf_counter()
    for _ in range(10_000):
        watcher.poll()
    per_call = (time.perf_counter() - start) / 10_000
    assert per_call < 50e-6, per_call  # far below a frame (33 ms)


def test_watcher_background_thread_picks_up_an_edit(tmp_path: Path) -> None:
    path = write(tmp_path / "live.yaml", SAMPLE)
    with LabelsWatcher(path, min_interval=0.05) as watcher:
        write_atomic(path, SAMPLE.replace("name: jump", "name: leap"))
        deadline = time.monotonic() + 30
        while "leap" not in watcher.labels.names and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "leap" in watcher.labels.names and watcher.state.generation == 2


def test_readers_never_see_a_half_updated_text_tensor(tmp_path: Path) -> None:
    """Reader threads check every snapshot against the two complete versions while reloads swap them."""
    ntu = bundled_labels_path("ntu120").read_text(encoding="utf-8")
    version_a = ntu
    # B: a different count, different names and different contexts (every other action, renamed).
    b_labels = load_labels(bundled_labels_path("ntu120")).actions[::2]
    version_b = "actions:\n" + "".join(
        f"  - name: {a.name} (b)\n    context:\n      - {a.context[0]}\n      - Seen from the side.\n"
        for a in b_labels)
    path = tmp_path / "live.yaml"
    expected = {}
    for version in (version_a, version_b):
        write(path, version)
        tensor = encode_labels(load_labels(path))
        expected[tensor.names] = tensor.embeddings  # also warms the cache: swaps are fast
    write_atomic(path, version_a)
    watcher = LabelsWatcher(path, min_interval=0.0)

    stop = threading.Event()
    problems: list[str] = []
    seen: set[int] = set()

    def reader() -> None:
        while not stop.is_set():
            state = watcher.state  # one snapshot; everything below reads only from it
            text = state.text
            if text.names != state.labels.names:
                problems.append("labels and tensor from different versions")
            want = expected.get(text.names)
            if want is None:
                problems.append(f"unknown names ({len(text.names)})")
            elif text.embeddings.shape != want.shape or not np.array_equal(text.embeddings, want):
                problems.append("embeddings mix two versions")
            seen.add(len(text.names))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    swaps = 0
    try:
        for i in range(24):
            write_atomic(path, version_b if i % 2 == 0 else version_a)
            swaps += watcher.poll()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert swaps == 24 and watcher.state.generation == 25
    assert not problems, problems[:5]
    assert seen == {120, 60}  # the readers really did see both versions
