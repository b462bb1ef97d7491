"""Class names of the datasets the readers know, in label-index order (0-based).

These are the published action names (NTU RGB+D 120 label map, PKU-MMD, and the three Kinect v1
datasets' classes.txt). Readers prefer a dataset folder's own classes.txt when it has one and fall
back to these lists. The NTU list keeps NTU's own spelling (``hush (quite)``) so names match the
official label map; only the two typographic apostrophes of the label map are plain ``'`` here.
"""

from __future__ import annotations

from pathlib import Path

NTU120_CLASSES: tuple[str, ...] = (
    'drink water', 'eat meal/snack', 'brushing teeth', 'brushing hair', 'drop', 'pickup', 'throw',
    'sitting down', 'standing up (from sitting position)', 'clapping', 'reading', 'writing',
    'tear up paper', 'wear jacket', 'take off jacket', 'wear a shoe', 'take off a shoe', 'wear on glasses',
    'take off glasses', 'put on a hat/cap', 'take off a hat/cap', 'cheer up', 'hand waving',
    'kicking something', 'reach into pocket', 'hopping (one foot jumping)', 'jump up',
    'make a phone call/answer phone', 'playing with phone/tablet', 'typing on a keyboard',
    'pointing to something with finger', 'taking a selfie', 'check time (from watch)',
    'rub two hands together', 'nod head/bow', 'shake head', 'wipe face', 'salute', 'put the palms together',
    'cross hands in front (say stop)', 'sneeze/cough', 'staggering', 'falling', 'touch head (headache)',
    'touch chest (stomachache/heart pain)', 'touch back (backache)', 'touch neck (neckache)',
    'nausea or vomiting condition', 'use a fan (with hand or paper)/feeling warm',
    'punching/slapping other person', 'kicking other person', 'pushing other person',
    'pat on back of other person', 'point finger at the other person', 'hugging other person',
    'giving something to other person', "touch other person's pocket", 'handshaking',
    'walking towards each other', 'walking apart from each other', 'put on headphone', 'take off headphone',
    'shoot at the basket', 'bounce ball', 'tennis bat swing', 'juggling table tennis balls', 'hush (quite)',
    'flick hair', 'thumb up', 'thumb down', 'make ok sign', 'make victory sign', 'staple book',
    'counting money', 'cutting nails', 'cutting paper (using scissors)', 'snapping fingers', 'open bottle',
    'sniff (smell)', 'squat down', 'toss a coin', 'fold paper', 'ball up paper', 'play magic cube',
    'apply cream on face', 'apply cream on hand back', 'put on bag', 'take off bag',
    'put something into a bag', 'take something out of a bag', 'open a box', 'move heavy objects',
    'shake fist', 'throw up cap/hat', 'hands up (both hands)', 'cross arms', 'arm circles', 'arm swings',
    'running on the spot', 'butt kicks (kick backward)', 'cross toe touch', 'side kick', 'yawn',
    'stretch oneself', 'blow nose', 'hit other person with something', 'wield knife towards other person',
    'knock over other person (hit with body)', "grab other person's stuff",
    'shoot at other person with a gun', 'step on foot', 'high-five', 'cheers and drink',
    'carry something with other person', 'take a photo of other person', 'follow other person',
    "whisper in other person's ear", 'exchange things with other person', 'support somebody with hand',
    'finger-guessing game (playing rock-paper-scissors)',
)
NTU60_CLASSES: tuple[str, ...] = NTU120_CLASSES[:60]  # NTU-120 extends NTU-60 with the same first 60

# PKU-MMD (phase 1), 51 classes in the official (alphabetical) label order; SMIE/AimCLR use it.
PKU_MMD51_CLASSES: tuple[str, ...] = (
    'bow', 'brushing hair', 'brushing teeth', 'check time (from watch)', 'cheer up', 'clapping',
    'cross hands in front (say stop)', 'drink water', 'drop', 'eat meal/snack', 'falling',
    'giving something to other person', 'hand waving', 'handshaking', 'hopping (one foot jumping)',
    'hugging other person', 'jumping up', 'kicking other person', 'kicking something',
    'making a phone call/answering phone', 'patting on back of other person', 'pickup',
    'playing with phone/tablet', 'pointing finger at the other person', 'pointing to something with finger',
    'punching/slapping other person', 'pushing other person', 'put on a hat/cap',
    'put something inside pocket', 'reading', 'rub two hands together', 'salute', 'sitting down',
    'standing up', 'take off a hat/cap', 'take off glasses', 'take off jacket',
    'take out something from pocket', 'taking a selfie', 'tear up paper', 'throw', 'touch back (backache)',
    'touch chest (stomachache/heart pain)', 'touch head (headache)', 'touch neck (neckache)',
    'typing on a keyboard', 'use a fan (with hand or paper)/feeling warm', 'wear jacket', 'wear on glasses',
    'wipe face', 'writing',
)

# UTD-MHAD a1..a27.
UTD_MHAD_CLASSES: tuple[str, ...] = (
    'right arm swipe to the left', 'right arm swipe to the right', 'right hand wave', 'two hand front clap',
    'right arm throw', 'cross arms in the chest', 'basketball shoot', 'right hand draw x',
    'right hand draw circle (clockwise)', 'right hand draw circle (counter clockwise)', 'draw triangle',
    'bowling (right hand)', 'front boxing', 'baseball swing from right', 'tennis right hand forehand swing',
    'arm curl (two arms)', 'tennis serve', 'two hand push', 'right hand knock on door',
    'right hand catch an object', 'right hand pick up and throw', 'jogging in place', 'walking in place',
    'sit to stand', 'stand to sit', 'forward lunge (left foot forward)', 'squat (two arms stretch out)',
)

# NW-UCLA keeps the action numbers of its recording protocol (a07 and a10 were dropped), so the
# ten classes are a01..a06, a08, a09, a11, a12; the JSON labels 1..10 follow this order.
NW_UCLA_ACTION_CODES: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
NW_UCLA_CLASSES: tuple[str, ...] = (
    'pick up with one hand', 'pick up with two hands', 'drop trash', 'walk around', 'sit down', 'stand up',
    'donning', 'doffing', 'throw', 'carry',
)

# MSR Action3D a01..a20.
MSR_ACTION3D_CLASSES: tuple[str, ...] = (
    'high arm wave', 'horizontal arm wave', 'hammer', 'hand catch', 'forward punch', 'high throw',
    'draw x (cross)', 'draw tick', 'draw circle', 'hand clap', 'two hand wave', 'side boxing', 'bend',
    'forward kick', 'side kick', 'jogging', 'tennis swing', 'tennis serve', 'golf swing',
    'pick up and throw',
)


def read_classes_txt(path: Path) -> dict[int, str] | None:
    """Parse a dataset's ``classes.txt`` (lines ``a12 name``) into {action number: name}.

    Returns None when the file is absent or not in that form, so callers fall back to a bundled list.
    """
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    out: dict[int, str] = {}
    for line in lines:
        parts = line.strip().split(maxsplit=1)
        if not parts:
            continue
        code = parts[0].lower()
        if len(parts) != 2 or not code.startswith("a") or not code[1:].isdigit():
            return None
        out[int(code[1:])] = parts[1].strip()
    return out or None
