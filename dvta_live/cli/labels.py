"""`dvta labels ...`: list, check, encode and edit a labels file (mounted by the main CLI).

Heavy imports (sentence-transformers) happen inside `encode` only, so --help stays instant.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dvta_live.console import console, err_console
from dvta_live.errors import UserError
from dvta_live.labels.bundled import DEFAULT_BUNDLED, bundled_labels, bundled_labels_path
from dvta_live.labels.loader import LabelsError, check_labels, load_labels, read_text

labels_app = typer.Typer(
    name="labels",
    help=(
        "The labels file: the actions the live recognizer scores, each with a context description.\n\n"
        "Without --file, commands read the bundled everyday file; make your own copy to edit it.\n\n"
        "Examples:\n\n"
        "  dvta labels list\n\n"
        "  dvta labels init my-labels.yaml\n\n"
        "  dvta labels add \"wave with the left hand\" -c \"The person raises the left arm and waves.\" "
        "-f my-labels.yaml\n\n"
        "  dvta labels add \"wave with the left hand\" --example takes/wave.mp4#2-5.5 -f my-labels.yaml\n\n"
        "An action may list recorded clips under `examples:` (path[#START-END] in seconds, relative to "
        "the labels file); `labels add --example` and `dvta teach` store them in a folder beside it.\n\n"
        "  dvta labels encode -f my-labels.yaml"
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)

FileOpt = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="Labels file (YAML). Default: the bundled everyday file.",
                 show_default=False),
]


def _path(file: Path | None) -> Path:
    return file if file is not None else bundled_labels_path(DEFAULT_BUNDLED)


@labels_app.command("list")
def list_(
    file: FileOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the actions as JSON.")] = False,
) -> None:
    """The actions of a labels file with their context and aliases.

    Examples:

      dvta labels list

      dvta labels list -f my-labels.yaml --json
    """
    path = _path(file)
    labels = load_labels(path)
    if as_json:
        console.print_json(json.dumps({
            "file": str(path), "text_model": labels.text_model,
            "actions": [{"name": a.name, "context": list(a.context), "aliases": list(a.aliases),
                         "examples": [e.source for e in a.examples], "line": a.line} for a in labels.actions],
        }))
        return
    table = Table(title=f"{escape(str(path))}: {len(labels)} actions", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("name", style="bold")
    table.add_column("context")
    table.add_column("aliases")
    with_examples = any(a.examples for a in labels.actions)
    if with_examples:
        table.add_column("examples", justify="right")
    table.add_column("line", justify="right", style="dim")
    for i, a in enumerate(labels.actions, 1):
        extra = [str(len(a.examples))] if with_examples else []
        table.add_row(str(i), escape(a.name), escape(" ".join(a.context)), escape(", ".join(a.aliases)),
                      *extra, str(a.line))
    console.print(table)
    console.print(f"text model: {escape(labels.text_model or 'all-MiniLM-L6-v2 (default)')}")


@labels_app.command()
def check(file: FileOpt = None) -> None:
    """Validate a labels file: YAML syntax, names, context, duplicates, unknown keys (no model needed).

    Every problem is reported with its line; the command fails on the first one.

    Examples:

      dvta labels check -f my-labels.yaml
    """
    path = _path(file)
    problems = check_labels(read_text(path), path=path)
    if len(problems) == 1:
        raise LabelsError(path, problems)
    if problems:
        for p in problems:
            err_console.print(f"[yellow]{escape(str(path))}:[/] {escape(str(p))}")
        raise UserError(f"{len(problems)} problems (listed above); the first is on line {problems[0].line}",
                        path)
    labels = load_labels(path)
    note = _text_model_note(labels.text_model, path)
    examples = sum(len(a.examples) for a in labels.actions)
    taught = sum(1 for a in labels.actions if a.examples)
    console.print(f"[green]ok[/] {escape(str(path))}: {len(labels)} actions, "
                  + (f"{examples} examples for {taught} of them, " if examples else "")
                  + f"text model {escape(labels.text_model or 'all-MiniLM-L6-v2 (default)')}")
    if note:
        err_console.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)


def _text_model_note(spec: str | None, path: Path) -> str | None:
    """A text_model that cannot work is an error; one this machine does not have yet is a note (checked
    without the network: the packaged model, a folder, or the Hugging Face cache)."""
    from dvta_live.labels.encoder import resolve_model

    try:
        ref = resolve_model(spec, base_dir=path.parent)
    except UserError:  # a path-like name whose folder is not there
        raise UserError(f"text_model {spec!r} is not a folder here", path, "give a folder that exists, a "
                        "sentence-transformers model name, or delete the line for the packaged default") from None
    if ref.kind != "hub":
        return None
    repo = ref.target if "/" in ref.target else f"sentence-transformers/{ref.target}"
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = isinstance(try_to_load_from_cache(repo, "config.json"), str)
    except Exception:  # noqa: BLE001 - no hub library or an odd name: say what is known
        cached = False
    if cached:
        return None
    return (f"text model {ref.target} is neither the packaged model nor a folder, and is not in the Hugging "
            "Face cache: it will be downloaded at first use (needs internet), and fails if no such model exists")


@labels_app.command()
def encode(
    file: FileOpt = None,
    text_model: Annotated[str | None, typer.Option(
        "--text-model", "-m", help="sentence-transformers name or local folder (default: the file's "
        "text_model, else the packaged all-MiniLM-L6-v2).")] = None,
    cache_dir: Annotated[Path | None, typer.Option(
        help="Embedding cache folder (default: $DVTA_CACHE/text or ~/.cache/dvta/text).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Also save the [C, 2, D] text tensor (.safetensors or .npz).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Encode the labels into the [C, 2, D] text tensor (name, context); only uncached texts hit the model.

    Examples:

      dvta labels encode

      dvta labels encode -f my-labels.yaml --text-model ./models/my-sbert -o text.safetensors
    """
    from dvta_live.labels.encoder import get_encoder
    from dvta_live.outputs import check_output

    path = _path(file)
    if out is not None:  # before the text model loads
        check_output(out, inputs=[path], suffixes=(".safetensors", ".npz"))
    labels = load_labels(path)
    spec = text_model if text_model is not None else labels.text_model
    start = time.perf_counter()
    with err_console.status("encoding"):
        encoder = get_encoder(spec, base_dir=None if text_model is not None else path.parent,
                              cache_dir=cache_dir)
        before = encoder.stats.encoded
        tensor = encoder.encode_labels(labels)
    seconds = time.perf_counter() - start
    encoded = encoder.stats.encoded - before
    texts = len(labels) + sum(len(a.context) for a in labels.actions)
    if out is not None:
        tensor.save(out)
    summary = {"file": str(path), "classes": tensor.num_classes, "dim": tensor.dim, "model": tensor.model,
               "texts": texts, "encoded": encoded, "cached": texts - encoded, "seconds": round(seconds, 3),
               "cache": str(encoder.cache.folder) if encoder.cache.folder else None,
               "out": str(out) if out else None}
    if as_json:
        console.print_json(json.dumps(summary))
        return
    console.print(f"[green]encoded[/] {escape(str(path))}: [{tensor.num_classes}, 2, {tensor.dim}] with "
                  f"{escape(tensor.model)}; {encoded} of {texts} texts sent to the model, "
                  f"{texts - encoded} from the cache ({seconds:.2f} s)")
    if encoder.cache.warning:
        err_console.print(f"[yellow]warning:[/] {escape(encoder.cache.warning)}")
    for text in encoder.truncated:
        err_console.print(f"[yellow]warning:[/] {escape(str(path))}: a context is longer than the "
                          f"{encoder.truncated_limit} tokens {escape(tensor.model)} reads; the rest is ignored "
                          f"(shorten it or split it into several sentences): {escape(text[:60])}...",
                          soft_wrap=True)
    if out is not None:
        console.print(f"wrote {escape(str(out))}")


@labels_app.command()
def add(
    name: Annotated[str, typer.Argument(help="The action name, e.g. \"wave with the left hand\".")],
    context: Annotated[list[str] | None, typer.Option(
        "--context", "-c", help="A sentence on the body movement; repeat for several. Needed for a new "
        "action.")] = None,
    alias: Annotated[list[str] | None, typer.Option(
        "--alias", "-a", help="Another name for the action; repeatable.")] = None,
    example: Annotated[list[str] | None, typer.Option(
        "--example", "-e", help="A recorded clip of it: a video or skeleton file, FILE#START-END for a "
        "stretch in seconds; stored beside the labels file. Repeatable; on an existing action (no "
        "--context) the clips are added to it.")] = None,
    file: FileOpt = None,
) -> None:
    """Append an action, or examples of one; the rest of the file (comments included) is kept byte-for-byte.

    Examples:

      dvta labels add "wave with the left hand" -c "The left arm rises and the hand waves." -f my.yaml

      dvta labels add "drink water" -c "A cup goes to the mouth." -c "The head tilts back." -f my.yaml

      dvta labels add "drink water" --example takes/drink.mp4#2-5.5 --example drink.bvh -f my.yaml
    """
    path = _path(file)
    if example:
        from dvta_live.teach import add_example_files

        with err_console.status("reading the examples (videos go through pose estimation)"):
            result = add_example_files(path, name, example, context=context or [], aliases=alias or [])
        added = result.action.examples[-len(example):]
        console.print(f"[green]added[/] {len(added)} example(s) to {escape(result.action.name)} (line "
                      f"{result.action.line} of {escape(str(path))}; {len(result.action.examples)} in all): "
                      + ", ".join(escape(e.source) for e in added))
        return
    if not context:
        raise UserError(f"`{name}` needs a context", path,
                        "add --context \"one or two sentences on the body movement\", or --example FILE to "
                        "add clips to an existing action")
    from dvta_live.labels.edit import add_action

    result = add_action(path, name, context, alias or [])
    console.print(f"[green]added[/] {escape(result.action.name)} at line {result.action.line} of "
                  f"{escape(str(path))} ({len(result.labels)} actions)")


@labels_app.command()
def remove(
    name: Annotated[str, typer.Argument(help="The action name or one of its aliases (case-insensitive).")],
    file: FileOpt = None,
) -> None:
    """Remove an action; the rest of the file (comments included) is kept byte-for-byte.

    Examples:

      dvta labels remove "wave with the left hand" -f my-labels.yaml
    """
    from dvta_live.labels.edit import remove_action

    path = _path(file)
    result = remove_action(path, name)
    console.print(f"[green]removed[/] {escape(result.action.name)} from {escape(str(path))} "
                  f"({len(result.labels)} actions left)")


@labels_app.command()
def init(
    dest: Annotated[Path, typer.Argument(help="The new labels file to create.")],
    source: Annotated[str, typer.Option(
        "--from", help=f"A bundled file ({', '.join(bundled_labels())}) or any labels file to copy.",
    )] = DEFAULT_BUNDLED,
    force: Annotated[bool, typer.Option("--force", help="Overwrite DEST if it exists.")] = False,
) -> None:
    """Start your own labels file from a bundled one (the bundled files are read-only).

    Examples:

      dvta labels init my-labels.yaml

      dvta labels init my-ntu.yaml --from ntu120
    """
    from dvta_live.labels.edit import init_labels

    path = init_labels(dest, source, force=force)
    labels = load_labels(path)
    console.print(f"[green]created[/] {escape(str(path))} with {len(labels)} actions; edit it, or "
                  f"dvta labels add NAME -c TEXT -f {escape(str(path))}")


def teach_command(
    name: Annotated[str, typer.Argument(help="The action to record, e.g. \"wave with the left hand\".")],
    source: Annotated[str | None, typer.Option("--source", "-s", help=(
        "What dvta run -s takes: a camera index (0), a video file, a skeleton file, 'realsense'. A file "
        "gives consecutive stretches, one per take. Default: camera 0."))] = None,
    seconds: Annotated[float, typer.Option(help="Length of each take, seconds.")] = 3.0,
    count: Annotated[int, typer.Option(help="Number of takes.")] = 3,
    labels: Annotated[Path | None, typer.Option("--labels", "-l", "--file", "-f", help=(
        "Labels file to add the examples to (your own copy: dvta labels init FILE)."))] = None,
    context: Annotated[list[str] | None, typer.Option(
        "--context", "-c", help="A sentence on the body movement, to add the action when it is missing.")] = None,
    pose_model: Annotated[str, typer.Option(help="MediaPipe pose model: lite, full or a .task file.")] = "lite",
    countdown: Annotated[int, typer.Option(min=0, help="Seconds of countdown before each take.")] = 3,
) -> None:
    """Record examples of an action from a camera (or any source) and add them to the labels file.

    Before each take a countdown; after it, how many frames had a person in view. A take with
    nobody in view is not saved. The good takes are stored as skeleton clips beside the labels file
    (FILE.examples/) and listed under the action's `examples:`; a running `dvta run -l FILE` picks
    them up like any edit.

    Examples:

      dvta teach "wave with the left hand" -l my-labels.yaml -c "The left arm rises and the hand waves."

      dvta teach "tai chi" -s ta_chi.mp4 --count 2 --seconds 2 -l my-labels.yaml -c "Slow flowing moves."
    """
    from dvta_live.teach import Countdown, SourceEnded, TakeResult, Taught, record_examples

    path = _path(labels)
    events = record_examples(path, name, source, seconds=seconds, count=count, context=context or [],
                             countdown=countdown, pose_model=pose_model)
    for event in events:
        if isinstance(event, Countdown):  # "take 1/3 in 3... 2... 1... go", one step at a time
            start = f"take {event.take}/{event.count} in " if event.remaining == countdown else " "
            step = "go" if event.remaining == 0 else f"{event.remaining}..."
            console.print(start + step, end="\n" if event.remaining == 0 else "")
        elif isinstance(event, TakeResult):
            what = f"take {event.take}: a person in {event.with_person} of {event.frames} frames"
            if event.saved is not None:
                console.print(f"{what}: [green]saved[/] {escape(str(event.saved))}")
            else:
                console.print(f"{what}: [yellow]not saved[/] ({escape(event.reason)})")
        elif isinstance(event, SourceEnded):
            console.print(f"the source ended after take {event.take} of {event.count}")
        elif isinstance(event, Taught):
            action = event.result.action
            console.print(f"[green]added[/] {len(event.saved)} example(s) to {escape(action.name)} (line "
                          f"{action.line} of {escape(str(path))}; {len(action.examples)} in all)")


def register(app: typer.Typer) -> None:
    app.add_typer(labels_app, name="labels")
    app.command("teach")(teach_command)
