"""``dvta model``: model folders (a backbone and a DVTA head, checked to fit together)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from dvta_live.console import console
from dvta_live.conventions import BRIDGE_WEIGHT

model_app = typer.Typer(help="Recogniser models: a folder with a backbone and a DVTA head.",
                        no_args_is_help=True)


@model_app.command("pack")
def pack_command(
    backbone: Annotated[Path, typer.Option("--backbone", "-b", help="Backbone .safetensors.")],
    head: Annotated[Path, typer.Option("--head", "-H", help="Head .safetensors from dvta train-head.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write.")],
    bridge_weight: Annotated[float | None, typer.Option(
        min=0.0, help="Weight of the backbone's own classifier, matched to the labels through their "
        f"contexts, beside the head's scores (0: the head alone). Default: {BRIDGE_WEIGHT:g} when the backbone "
        "has a classifier; chosen in bench/results/bridge_weight.md).")] = None,
) -> None:
    """Put a backbone and a DVTA head into one model folder (checked to fit together).

    A backbone with a classifier (the official Shift-GCN weights: NTU RGB+D 120's actions) lends it to
    the head as a second opinion on every labels file (the bridge, see dvta_live/dvta/bridge.py).

    Example: dvta model pack -b runs/utd/backbone.safetensors -H heads/utd.safetensors -o models/utd
    """
    from dvta_live.model import load_model_net, pack_model

    folder = pack_model(backbone, head, out, bridge_weight=bridge_weight)
    model, info = load_model_net(folder)
    bridge = model.head.bridge
    console.print(f"model {escape(str(folder))}: {info.architecture}, recipe {info.recipe.name} "
                  f"(window {info.window}), text {escape(info.text_model)} ({info.text_dim}-d), "
                  f"{len(info.training_classes)} training classes"
                  + (f", bridge over {bridge.num_classes} classifier classes (weight {float(bridge.weight):g})"
                     if bridge is not None else ""))


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
