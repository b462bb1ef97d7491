"""Depth lifting: 2-D image landmarks + an aligned depth image -> metric camera-space 3-D points.

MediaPipe's world landmarks are metric but centred on the hips, so a pose from colour alone has no
absolute position (the smie50 recipe centres every frame on spine_shoulder, so it does not need one).
With a depth stream aligned to the colour image each landmark is lifted to the camera frame: the pixel
is deprojected with the median depth of a small patch around it. Where the patch has no depth (holes,
zeros, landmarks outside the image) or its depth disagrees with the body (background seen past a
silhouette edge), the landmark falls back to its world landmark moved by the body's camera-space offset:
the median offset of the landmarks that did get depth (the hips' offset when only they have depth).

Axes here are the image's camera axes (x image-right, y image-down, z away from the camera, metres),
the same axes as MediaPipe's world landmarks; ``convert.mediapipe33_to_ntu25`` takes both to NTU axes.
A lifted point is on the body's surface: joint centres (Kinect's) sit a few cm further back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_DEPTH_MM = 100  # below this a depth sensor reports noise, not a surface
MAX_DEPTH_MM = 10_000


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of the image the landmarks and the aligned depth live in (pixels).

    Pixel centres are at integer coordinates (RealSense's rs2_deproject_pixel_to_point convention).
    Lens distortion is ignored: RealSense colour streams report (near-)zero coefficients.
    """

    width: int
    height: int
    fx: float
    fy: float
    ppx: float
    ppy: float

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0 or self.fx <= 0 or self.fy <= 0:
            raise ValueError(f"invalid intrinsics {self}")

    @classmethod
    def from_fov(cls, width: int, height: int, horizontal_fov_deg: float) -> Intrinsics:
        """Square pixels and a centred principal point from a horizontal field of view."""
        f = (width / 2) / np.tan(np.radians(horizontal_fov_deg) / 2)
        return cls(width, height, float(f), float(f), (width - 1) / 2, (height - 1) / 2)

    def flipped_horizontally(self) -> Intrinsics:
        """The intrinsics of the mirrored image (a selfie view)."""
        return Intrinsics(self.width, self.height, self.fx, self.fy, self.width - 1 - self.ppx, self.ppy)

    def deproject(self, uv: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Pixels [..., 2] (centre convention) at depths z [...] metres -> points [..., 3] metres."""
        uv = np.asarray(uv, dtype=np.float64)
        z = np.asarray(z, dtype=np.float64)
        x = (uv[..., 0] - self.ppx) / self.fx * z
        y = (uv[..., 1] - self.ppy) / self.fy * z
        return np.stack([x, y, z], axis=-1)

    def project(self, points: np.ndarray) -> np.ndarray:
        """Points [..., 3] (z > 0) -> pixels [..., 2] (centre convention)."""
        p = np.asarray(points, dtype=np.float64)
        return np.stack([p[..., 0] / p[..., 2] * self.fx + self.ppx,
                         p[..., 1] / p[..., 2] * self.fy + self.ppy], axis=-1)


@dataclass(frozen=True)
class DepthPoints:
    """Camera-space points [N, 3] (metres, image camera axes) and which of them came from depth."""

    points: np.ndarray
    from_depth: np.ndarray  # bool [N]; False: world landmark + the body's offset
    offset: np.ndarray  # [3] the world -> camera translation used for the fallback points


def patch_depth_m(depth_mm: np.ndarray, uv: np.ndarray, radius: int = 2) -> np.ndarray:
    """Median of the valid depth (metres) in a (2r+1)^2 patch around each pixel uv [N, 2]; NaN where
    the patch holds no valid depth or the pixel is outside the image."""
    h, w = depth_mm.shape
    uv = np.asarray(uv, dtype=np.float64)
    n = uv.shape[0]
    centre = np.rint(uv).astype(np.int64)  # pixel centres at integers
    inside = (centre[:, 0] >= 0) & (centre[:, 0] < w) & (centre[:, 1] >= 0) & (centre[:, 1] < h)
    offsets = np.arange(-radius, radius + 1)
    cols = np.clip(centre[:, 0, None, None] + offsets[None, None, :], 0, w - 1)  # [N, 1, k]
    rows = np.clip(centre[:, 1, None, None] + offsets[None, :, None], 0, h - 1)  # [N, k, 1]
    patch = depth_mm[rows, cols].reshape(n, -1).astype(np.float64)  # [N, k*k], fancy indexing: one copy
    patch[(patch < MIN_DEPTH_MM) | (patch > MAX_DEPTH_MM)] = np.nan
    out = np.full(n, np.nan)
    has = inside & ~np.all(np.isnan(patch), axis=1)
    if has.any():
        out[has] = np.nanmedian(patch[has], axis=1) / 1000.0
    return out


def deproject_points(
    image_xy: np.ndarray,
    fallback: np.ndarray,
    depth_mm: np.ndarray,
    intrinsics: Intrinsics,
    *,
    radius: int = 2,
    max_deviation_m: float = 0.35,
) -> DepthPoints | None:
    """Lift image points to camera space with an aligned depth image.

    image_xy [N, 2]: pixel coordinates with the image's top-left *corner* at 0 (MediaPipe's normalised
    landmarks times the image size). fallback [N, 3]: the same points as a rigid metric body in camera
    axes up to a translation (MediaPipe world landmarks). depth_mm [H, W] uint16, aligned to the image.
    The fallback's offset is the median of (lifted - fallback) over the points with depth: the hips'
    offset when only they are seen, and robust to a few wrong depths when more are.
    Returns None when no point has usable depth (the caller keeps the hip-centred world landmarks).
    """
    image_xy = np.asarray(image_xy, dtype=np.float64)
    fallback = np.asarray(fallback, dtype=np.float64)
    depth_mm = np.asarray(depth_mm)
    if depth_mm.ndim != 2:
        raise ValueError(f"depth must be [H, W], got {list(depth_mm.shape)}")
    if depth_mm.shape != (intrinsics.height, intrinsics.width):
        raise ValueError(f"depth {depth_mm.shape[::-1]} and intrinsics {intrinsics.width}x{intrinsics.height}"
                         " differ: the depth must be aligned to the colour image")
    uv = image_xy - 0.5  # corner convention -> centre convention
    z = patch_depth_m(depth_mm, uv, radius)
    valid = np.isfinite(z)
    if not valid.any():
        return None
    lifted = intrinsics.deproject(uv, np.where(valid, z, 1.0))

    def offset_of(mask: np.ndarray) -> np.ndarray:
        # the median over points, robust to a few bad depths; with only the hips seen it is their offset
        return np.median(lifted[mask] - fallback[mask], axis=0)

    offset = offset_of(valid)
    # Depth that disagrees with the body (background past an edge, a nearer occluder) is not this body.
    deviation = np.abs(lifted[:, 2] - (fallback[:, 2] + offset[2]))
    inlier = valid & (deviation <= max_deviation_m)
    if inlier.any() and not np.array_equal(inlier, valid):
        offset = offset_of(inlier)
        deviation = np.abs(lifted[:, 2] - (fallback[:, 2] + offset[2]))
        inlier = valid & (deviation <= max_deviation_m)
    if not inlier.any():
        return None
    points = np.where(inlier[:, None], lifted, fallback + offset)
    return DepthPoints(points=points.astype(np.float32), from_depth=inlier, offset=offset.astype(np.float32))
