"""The numbers the whole project agrees on, in one place (core layer: imports nothing from dvta_live).

Skeleton arrays are float32 ``[NUM_COORDS, T, NUM_JOINTS, MAX_BODIES]`` = ``[3, T, 25, 2]``: NTU-25 joints
in NTU camera axes, two body slots (``dvta_live.skeleton.sequence``). The training data are Kinect v2
recordings at ``DEFAULT_FPS``: the recipes count frames at that rate, the live window is resampled to it,
and a clip or source that gives no rate of its own is taken to run at it. A live window holds the last
``WINDOW_S`` seconds (NTU clips last 2-4 s); a hole in a track up to ``MAX_GAP_S`` is interpolated. The GCN
backbones give a ``FEATURE_DIM``-wide pooled feature, the width a features folder holds.
"""

from __future__ import annotations

NUM_COORDS = 3  # x, y, z
NUM_JOINTS = 25  # NTU RGB+D's Kinect v2 joints
MAX_BODIES = 2  # body slots per frame

DEFAULT_FPS = 30.0  # frames per second: the training data's rate (Kinect v2), the default of a rate-less clip
WINDOW_S = 3.0  # seconds of motion one live window holds
MAX_GAP_S = 0.3  # shorter holes in a track are interpolated

FEATURE_DIM = 256  # the GCN backbones' pooled feature, what a DVTA head takes by default

# Defaults chosen on skeleton data (why: beside their use, dvta.examples and dvta.bridge); kept here so the
# command line's help shows them without loading torch
EXAMPLE_WEIGHT = 256.0  # how much a labels file's recorded examples count beside the text
BRIDGE_WEIGHT = 1.5  # how much a backbone's own classifier counts beside the head's scores

__all__ = ["BRIDGE_WEIGHT", "DEFAULT_FPS", "EXAMPLE_WEIGHT", "FEATURE_DIM", "MAX_BODIES", "MAX_GAP_S", "NUM_COORDS",
           "NUM_JOINTS", "WINDOW_S"]
