"""`dvta run` (the live loop) and `dvta model pack`."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from dvta_live.console import console, err_console
from dvta_live.conventions import EXAMPLE_WEIGHT, MAX_BODIES
from dvta_live.errors import UserError
from dvta_live.realtime.scoring import LiveConfig

if TYPE_CHECKING:
    from collections.abc import Iterator

    from rich.console import Console

    from dvta_live.labels.watcher import LabelsState
    from dvta_live.realtime.live import FrameResult, Prediction, Stats



INTERRUPTED = "stopped by the user (Ctrl-C)"
_LIVE = LiveConfig()  # the option defaults
_OPTIONS = {"window_s": "--window", "stride_s": "--stride", "threshold": "--threshold", "smoothing": "--smoothing",
            "top_k": "--top"}  # LiveConfig field -> its option


def _live_config(*, window: float, stride: float, threshold: float, smoothing: float, top: int,
                 loop: int) -> LiveConfig:
    """The options as a LiveConfig; each bad number named by its option (LiveConfig's checks), before
    anything loads."""
    fields = {"window_s": window, "stride_s": stride, "threshold": threshold, "smoothing": smoothing,
              "top_k": top, "min_span_s": min(_LIVE.min_span_s, window)}
    LiveConfig.check(fields, _OPTIONS)
    if not loop >= 0:
        raise UserError(f"--loop {loop:g} is out of range", fix="a number of plays, or 0 to play forever")
    return LiveConfig(**fields)


def _source_file(spec: str) -> Path | None:
    """The file a --source names (FILE#N picks a sequence of FILE), or None for a camera or URL."""
    for candidate in (spec, spec.rsplit("#", 1)[0]):
        if Path(candidate).exists():
            return Path(candidate)
    return None


def _model_files(model: Path) -> list[Path]:
    from dvta_live.dvta.headfile import sidecar_path
    from dvta_live.model import BACKBONE_FILE, HEAD_FILE

    if model.is_dir():
        return [model / BACKBONE_FILE, model / HEAD_FILE, sidecar_path(model / HEAD_FILE)]
    return [model, sidecar_path(model)]


def _labels_event(state: LabelsState) -> dict[str, object]:
    """A JSONL record each time the labels change or an edit is rejected (then the last good ones stay)."""
    if state.error:
        return {"event": "labels", "status": "rejected", "error": state.error, "actions": len(state.labels)}
    return {"event": "labels", "status": "loaded", "actions": len(state.labels),
            "names": list(state.labels.names)}


def _check_run_outputs(jsonl: Path | None, save: Path | None, inputs: list[Path | None]) -> None:
    """--jsonl and --save may not overwrite the source, the labels or the model; checked before loading."""
    from dvta_live.outputs import JSONL_SUFFIXES, VIDEO_SUFFIXES, check_output

    if jsonl is not None and str(jsonl) != "-":
        check_output(jsonl, inputs=inputs, suffixes=JSONL_SUFFIXES, option="--jsonl", kind="JSON-lines file:")
    if save is not None:
        check_output(save, inputs=[*inputs, jsonl], suffixes=VIDEO_SUFFIXES, option="--save",
                     kind="video file:")


def run_command(
    source: Annotated[str | None, typer.Option("--source", "-s", help=(
        "Camera index (0), video file or URL, 'realsense', a .bag/.db3 recording, or a skeleton file "
        "(.skeleton, .dvta.safetensors, ...; FILE#N picks a sequence). Default: the bundled demo."))] = None,
    labels: Annotated[Path | None, typer.Option("--labels", "-l", help=(
        "Labels file (YAML) to score against; edit it while running. Default: the bundled everyday file."))] = None,
    model: Annotated[Path | None, typer.Option("--model", "-m", help=(
        "Model folder (backbone.safetensors + head.safetensors) or a head file. Default: the bundled model "
        "for the source: the camera model for a camera, video or stream, the skeleton model for 3-D joints."))] = None,
    runtime: Annotated[str, typer.Option(help="auto | tensorrt | onnx | torch")] = "auto",
    threads: Annotated[int, typer.Option(min=1, help=(
        "CPU threads for inference. 1 leaves the other cores to capture and pose: spinning inference "
        "threads that share a core with MediaPipe make both slower."))] = 1,
    realtime: Annotated[bool, typer.Option("--realtime/--no-realtime", help=(
        "Pace files to their frame rate, dropping frames rather than lagging; --no-realtime processes "
        "every frame as fast as possible."))] = True,
    pose_model: Annotated[str, typer.Option(help="MediaPipe pose model: lite, full or a .task file.")] = "lite",
    people: Annotated[int, typer.Option(min=1, max=MAX_BODIES, help="People to track (body slots).")
                      ] = MAX_BODIES,
    window: Annotated[float, typer.Option(help="Window length, seconds.")] = _LIVE.window_s,
    stride: Annotated[float, typer.Option(help="Score every this many seconds.")] = _LIVE.stride_s,
    threshold: Annotated[float, typer.Option(help="Below this smoothed probability: 'unknown'.")
                         ] = _LIVE.threshold,
    smoothing: Annotated[float, typer.Option(help="Weight of the newest scores (1 = no smoothing).")
                         ] = _LIVE.smoothing,
    top: Annotated[int, typer.Option(min=1, help="Actions shown.")] = _LIVE.top_k,
    example_weight: Annotated[float | None, typer.Option(min=0.0, help=(
        "How much an action's recorded examples (examples: in the labels file) count beside its text; "
        f"0: text alone. Default: {EXAMPLE_WEIGHT:g}, chosen in bench/results/examples.md."))] = None,
    mirrored: Annotated[bool | None, typer.Option("--mirrored/--not-mirrored", help=(
        "Whether the images are mirrored (selfie view). Default: guessed (NTU RGB videos are)."))] = None,
    loop: Annotated[int, typer.Option(help="Play a file/replay this many times (0: forever).")] = 1,
    jsonl: Annotated[Path | None, typer.Option(help="Write one JSON event per prediction here ('-': stdout).")] = None,
    show: Annotated[bool, typer.Option("--show", help="Open a window with the skeleton and the top action.")] = False,
    save: Annotated[Path | None, typer.Option(help="Write the annotated video here (.mp4 / .avi).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live view; the summary only.")] = False,
) -> None:
    """Recognise actions live: source -> pose -> NTU-25 -> 3 s window -> backbone + DVTA head -> scores.

    The labels file is watched: add an action (a name and a sentence of context) and it is scored at
    the next window; a broken edit keeps the last good labels and says why.

    Examples:

      dvta run                                            # the bundled demo, no camera needed

      dvta run --source 0 --labels my-actions.yaml --show

      dvta run -s ../shared/data/ntu/S001C001P001R001A001_rgb.avi --no-realtime --jsonl events.jsonl

      dvta run -s clip.mp4 --save annotated.mp4 --model models/my-model
    """
    # first: Ctrl-C from here on stops the run at its next step, never inside a library that would
    # swallow the KeyboardInterrupt (a replay with --loop 0 then ran on forever)
    with _ctrl_c_stops() as ctrl_c:
        import dvta_live
        from dvta_live.labels.bundled import bundled_labels_path
        from dvta_live.model import bundled_model_for, default_model
        from dvta_live.pose.inputs import bundled_demo_source, open_input
        from dvta_live.pose.sources import check_source
        from dvta_live.realtime.display import Viewer

        if ctrl_c.pressed.is_set():  # Ctrl-C during the imports above
            raise typer.Exit(130)
        config = _live_config(window=window, stride=stride, threshold=threshold, smoothing=smoothing, top=top,
                              loop=loop)
        viewer = Viewer() if show else None  # refuse --show before any heavy loading
        spec = source if source is not None else str(bundled_demo_source())
        kind = check_source(spec)  # a missing file or a still image: said before the model loads
        labels_path = labels if labels is not None else bundled_labels_path()
        model_path = default_model(model, kind)
        if model is None:  # the bundled model that suits the source: say which, and why
            name, _, why = bundled_model_for(kind)
            err_console.print(f"model: the bundled {name} model ({why})")
        _check_run_outputs(jsonl, save, [_source_file(spec), labels_path, *_model_files(model_path)])
        # with --jsonl - stdout carries the events only: the view and the summary go to stderr
        out_console = err_console if jsonl is not None and str(jsonl) == "-" else console
        with err_console.status("loading the model and the labels"):
            recognizer = dvta_live.load(model_path, labels_path, runtime, threads=threads,
                                        example_weight=example_weight)
        if ctrl_c.pressed.is_set():  # Ctrl-C while loading: nothing ran, nothing to sum up
            raise typer.Exit(130)
        with open_input(spec, realtime=realtime, mirrored=mirrored, loop=loop, pose_model=pose_model,
                        people=people) as live_input:
            info = live_input.source.info
            err_console.print(f"[bold]{escape(info.name)}[/]: {info.kind}, {info.fps:.1f} fps"
                              f"{', mirrored' if live_input.source.mirrored else ''}; runtime "
                              f"{escape(recognizer.describe())}; {escape(recognizer.labels_status)}")
            outputs = _RunOutputs(out_console, quiet, recognizer, labels_path, jsonl, save, viewer,
                                  info.name, info.fps, ctrl_c)
            stats = outputs.consume(recognizer.recognize(live_input, config=config, stats=outputs.stats,
                                                         stop=outputs.stop))
    if stats.end_reason == INTERRUPTED:
        raise typer.Exit(130)  # the shell's code for Ctrl-C, after the summary


class _CtrlC:
    """What Ctrl-C did: ``pressed``, and the stop events it sets (a running pipeline's)."""

    def __init__(self) -> None:
        self.pressed = threading.Event()
        self.stops: list[threading.Event] = []

    def press(self) -> None:
        self.pressed.set()
        for stop in self.stops:
            stop.set()


@contextmanager
def _ctrl_c_stops() -> Iterator[_CtrlC]:
    """Ctrl-C presses the yielded _CtrlC instead of raising KeyboardInterrupt wherever the main thread is
    (a queue wait, a thread join, a native call, a finaliser that would swallow it): loading stops at its
    next step, a running pipeline stops and drains. A second Ctrl-C raises at once."""
    ctrl_c = _CtrlC()
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield ctrl_c
        return
    previous = signal.getsignal(signal.SIGINT)

    def on_ctrl_c(signum: int, frame: Any) -> None:
        ctrl_c.press()
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield ctrl_c
    finally:
        signal.signal(signal.SIGINT, previous)


class _RunOutputs:
    """Where ``dvta run`` sends the events: the live view, JSON lines, the saved video, the window, and
    the summary at the end (``quiet``: the summary only)."""

    def __init__(self, console: Console, quiet: bool, recognizer: Any, labels_path: Path, jsonl: Path | None,
                 save: Path | None, viewer: Any, source_name: str, fps: float,
                 ctrl_c: _CtrlC | None = None) -> None:
        from rich.console import Console

        from dvta_live.realtime.display import JsonlWriter, LiveView, VideoSaver
        from dvta_live.realtime.live import Stats

        self.console = console
        self.recognizer, self.viewer, self.source_name = recognizer, viewer, source_name
        self.stats, self.stop, self.predictions = Stats(), threading.Event(), []
        self.ctrl_c = ctrl_c or _CtrlC()
        self.ctrl_c.stops.append(self.stop)
        if self.ctrl_c.pressed.is_set():
            self.stop.set()
        self.writer = JsonlWriter(jsonl) if jsonl is not None else None
        self.saver = VideoSaver(save, fps) if save is not None else None
        watcher = recognizer.watcher
        self.labels_seen = (watcher.state.generation, watcher.state.error)  # the start record covers these
        self.examples_seen: dict[str, str] = {}  # unreadable examples already reported
        self.view = LiveView(Console(quiet=True) if quiet else console, source_name, recognizer.describe(), self.stats,
                             lambda: recognizer.labels_status)
        if self.writer:
            self.writer.write({"event": "start", "source": source_name, "runtime": recognizer.describe(),
                               "model": str(recognizer.info.path), "labels": str(labels_path)})

    def consume(self, events: Iterator[Any]) -> Stats:
        from dvta_live.realtime.live import Prediction

        last: Prediction | None = None
        try:
            with self.view:
                for event in events:  # Ctrl-C sets self.stop (_ctrl_c_stops): the pipeline drains and ends
                    if isinstance(event, Prediction):
                        last = event
                        self._prediction(event)
                    else:
                        self._frame(event, last)
        except KeyboardInterrupt:  # a second Ctrl-C
            self.ctrl_c.press()
        finally:
            if self.ctrl_c.pressed.is_set():
                self.stats.end_reason = INTERRUPTED
            self._close()
        from dvta_live.realtime.display import print_summary

        print_summary(self.console, self.stats, self.predictions, self.source_name, self.recognizer.describe())
        return self.stats

    def _prediction(self, event: Prediction) -> None:
        self.predictions.append(event)
        self.view.prediction(event)
        if self.writer:
            state = self.recognizer.watcher.state
            if (state.generation, state.error) != self.labels_seen:
                self.labels_seen = (state.generation, state.error)
                self.writer.write(_labels_event(state))
            errors = self.recognizer.examples.unreadable
            if errors != self.examples_seen:  # an example that cannot be used: said once, with why
                self.examples_seen = errors
                self.writer.write({"event": "examples", "status": self.recognizer.examples.status,
                                   "unreadable": errors})
            self.writer.write({"event": "prediction", **event.to_dict()})

    def _frame(self, event: FrameResult, last: Prediction | None) -> None:
        self.view.frame(event)
        if self.saver or self.viewer:
            from dvta_live.realtime.display import draw_overlay

            image = draw_overlay(event.frame.image, event, last)
            if self.saver:
                self.saver.write(image)
            if self.viewer and not self.viewer.show(image):
                self.stop.set()

    def _close(self) -> None:
        if self.saver:
            self.saver.close()
        if self.viewer:
            self.viewer.close()
        if self.writer:
            s = self.stats
            self.writer.write({"event": "end", "frames": s.frames_processed, "dropped": s.dropped_frames,
                               "windows": s.windows_scored, "reason": s.end_reason})
            self.writer.close()


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
