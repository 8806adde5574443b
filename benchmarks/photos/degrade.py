"""Turn a flat invoice render into something that looks like a phone photo of it.

Contract: ``photograph(page_rgb, rng, severity, max_side) -> (bgr_image, meta)``. ``page_rgb`` is the clean
render (RGB ``uint8``); the result is a BGR ``uint8`` photo whose longer side is ``max_side``, and ``meta`` records
every degradation applied with its strength (JSON-friendly), so a benchmark can slice results by it. All
randomness comes from ``rng``. ``severity`` is one of ``SEVERITIES``:

* ``mild``: a careful photo (small tilt, little blur, good light);
* ``mixed``: what people actually upload (tilt up to 10°, perspective, a quarter of them turned 90/180/270°,
  shadows, low light, creases, glare, mild blur, JPEG 45–85);
* ``harsh``: barely readable (strong blur, dark, heavy JPEG), the material the quality gate must catch.

Steps, in the order a camera sees them: paper tint and creases on the sheet; the sheet laid on a desk texture with
a soft drop shadow, tilted and in perspective; uneven light and a cast shadow; low light; glare (saturating);
then at the output size: defocus or motion blur, sensor noise (more in low light), the whole frame turned by
quarter turns (a phone held sideways without EXIF), JPEG compression (done by the caller). ``meta`` also holds
``document_quad``: the sheet's own top-left, top-right, bottom-right and bottom-left corners in output pixels.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

SEVERITIES = ("mild", "mixed", "harsh")

_PARAMS: dict[str, dict[str, Any]] = {
    # tilt deg, perspective (fraction of size), coverage (doc width / frame width), blur sigma range,
    # motion-blur probability, shadow p / strength, low-light p / gain, glare p, crease p, quarter-turn p
    "mild": {"tilt": 4, "persp": 0.03, "cover": (0.72, 0.92), "sigma": (0.0, 0.8), "motion": 0.0,
             "shadow": (0.3, 0.25), "dark": (0.1, (0.6, 0.8)), "glare": 0.05, "crease": 0.3, "turn": 0.15},
    "mixed": {"tilt": 10, "persp": 0.07, "cover": (0.55, 0.9), "sigma": (0.3, 1.6), "motion": 0.25,
              "shadow": (0.5, 0.45), "dark": (0.3, (0.35, 0.6)), "glare": 0.15, "crease": 0.5, "turn": 0.35},
    "harsh": {"tilt": 15, "persp": 0.1, "cover": (0.4, 0.75), "sigma": (1.8, 3.2), "motion": 0.35,
              "shadow": (0.7, 0.6), "dark": (0.5, (0.22, 0.4)), "glare": 0.3, "crease": 0.6, "turn": 0.35},
}


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Value noise in [-1, 1]: random values on a coarse grid, cubic-upsampled."""
    small = rng.uniform(-1, 1, (max(2, h // cell + 2), max(2, w // cell + 2))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def desk(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, str]:
    kind = ("wood", "grey", "dark", "light")[int(rng.integers(4))]
    grain = _smooth_noise(rng, h, w, 64)
    fine = rng.normal(0, 1, (h, w)).astype(np.float32)
    if kind == "wood":
        y = np.arange(h, dtype=np.float32)[:, None]
        streak = np.sin(y / rng.uniform(6, 14) + 6 * _smooth_noise(rng, h, w, 200))
        base = np.array([55, 95, 140], np.float32) * rng.uniform(0.8, 1.2)  # BGR brown
        shade = 1 + 0.12 * streak + 0.08 * grain
        img = base[None, None, :] * shade[:, :, None] + 4 * fine[:, :, None]
    else:
        level = {"grey": rng.uniform(110, 160), "dark": rng.uniform(25, 60), "light": rng.uniform(185, 215)}[kind]
        tint = rng.uniform(0.9, 1.1, 3).astype(np.float32)
        img = (level * tint)[None, None, :] * (1 + 0.06 * grain)[:, :, None] + 5 * fine[:, :, None]
    return np.clip(img, 0, 255).astype(np.float32), kind


def _crease(page: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
    h, w = page.shape[:2]
    vertical = rng.random() < 0.5
    pos = rng.uniform(0.3, 0.7) * (w if vertical else h)
    slope = rng.uniform(-0.05, 0.05)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = (xx - pos - slope * yy) if vertical else (yy - pos - slope * xx)
    width = rng.uniform(8, 25)
    profile = 1 - 0.16 * np.exp(-((d + width / 2) / width) ** 2) + 0.07 * np.exp(-((d - width / 2) / width) ** 2)
    profile -= 0.18 * np.exp(-(d / 1.5) ** 2)  # the fold line itself
    page *= profile[:, :, None]
    return {"vertical": bool(vertical), "position": round(float(pos / (w if vertical else h)), 3)}


def _target_quad(rng: np.random.Generator, pw: int, ph: int, cw: int, ch: int, p: dict) -> tuple[np.ndarray, dict]:
    cover = rng.uniform(*p["cover"])
    scale = min(cover * cw / pw, 0.95 * ch / ph)
    w, h = pw * scale, ph * scale
    tilt = rng.uniform(-p["tilt"], p["tilt"])
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]], np.float32)
    jitter = rng.uniform(-p["persp"], p["persp"], (4, 2)).astype(np.float32) * np.array([w, h], np.float32)
    corners = corners + jitter
    t = np.deg2rad(tilt)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]], np.float32)
    corners = corners @ rot.T
    span = corners.max(0) - corners.min(0)
    free = np.maximum(np.array([cw, ch], np.float32) - span, 0) / 2
    centre = np.array([cw / 2, ch / 2], np.float32) + rng.uniform(-1, 1, 2).astype(np.float32) * free * 0.8
    quad = corners + centre
    return quad, {"tilt_deg": round(float(tilt), 2), "coverage": round(float(cover), 3),
                  "perspective": round(float(np.abs(jitter).max() / max(w, h)), 3)}


def _light(rng: np.random.Generator, h: int, w: int, strength: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gx, gy = rng.uniform(-1, 1, 2)
    ramp = (gx * (xx / w - 0.5) + gy * (yy / h - 0.5))
    vignette = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2)
    return (1.0 - strength * 0.5 * (ramp + 0.5) - strength * 0.6 * vignette).astype(np.float32)


def _soft(mask: np.ndarray, sigma: float) -> np.ndarray:
    """A wide Gaussian blur of a smooth mask, done at 1/8 size (the same look, a fraction of the time)."""
    h, w = mask.shape
    small = cv2.resize(mask, (max(1, w // 8), max(1, h // 8)), interpolation=cv2.INTER_AREA)
    return cv2.resize(cv2.GaussianBlur(small, (0, 0), max(0.5, sigma / 8)), (w, h), interpolation=cv2.INTER_LINEAR)


def _cast_shadow(rng: np.random.Generator, h: int, w: int, strength: float) -> np.ndarray:
    """A soft dark region over one side of the frame (a hand or the phone between lamp and paper)."""
    mask = np.zeros((h, w), np.float32)
    side = int(rng.integers(4))
    depth = rng.uniform(0.2, 0.55)
    pts = {0: [(0, 0), (w * depth, 0), (w * depth * rng.uniform(0.4, 1.6), h), (0, h)],
           1: [(w, 0), (w * (1 - depth), 0), (w * (1 - depth * rng.uniform(0.4, 1.6)), h), (w, h)],
           2: [(0, 0), (w, 0), (w, h * depth), (0, h * depth * rng.uniform(0.4, 1.6))],
           3: [(0, h), (w, h), (w, h * (1 - depth)), (0, h * (1 - depth * rng.uniform(0.4, 1.6)))]}[side]
    cv2.fillPoly(mask, [np.array(pts, np.int32)], 1.0)
    mask = _soft(mask, rng.uniform(0.02, 0.06) * w)
    return 1.0 - strength * mask


def _glare(rng: np.random.Generator, quad: np.ndarray, h: int, w: int) -> tuple[np.ndarray, dict]:
    lo, hi = quad.min(0), quad.max(0)
    cx, cy = rng.uniform(lo[0] + 0.2 * (hi[0] - lo[0]), hi[0] - 0.2 * (hi[0] - lo[0])), \
        rng.uniform(lo[1] + 0.2 * (hi[1] - lo[1]), hi[1] - 0.2 * (hi[1] - lo[1]))
    rx, ry = rng.uniform(0.05, 0.14) * w, rng.uniform(0.04, 0.1) * w
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (int(cx), int(cy)), (int(rx), int(ry)), float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
    mask = _soft(mask, 0.35 * ry)
    return mask * rng.uniform(1.1, 1.6) * 255, {"radius": round(float(rx / w), 3)}


def _motion_kernel(length: int, angle: float) -> np.ndarray:
    k = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
    k = cv2.warpAffine(k, rot, (length, length))
    return k / k.sum()


def photograph(page_rgb: np.ndarray, rng: np.random.Generator, severity: str = "mixed",
               max_side: int = 2000) -> tuple[np.ndarray, dict[str, Any]]:
    if severity not in _PARAMS:
        raise ValueError(f"unknown severity {severity!r}; choose from {', '.join(SEVERITIES)}")
    p = _PARAMS[severity]
    meta: dict[str, Any] = {"severity": severity}
    page = cv2.cvtColor(page_rgb, cv2.COLOR_RGB2BGR).astype(np.float32)
    page *= rng.uniform(0.9, 1.0, 3).astype(np.float32)[None, None, :]  # paper tint / white balance
    if rng.random() < p["crease"]:
        meta["crease"] = _crease(page, rng)
    ph, pw = page.shape[:2]
    canvas_long = 2400
    landscape = pw >= ph
    cw, ch = (canvas_long, canvas_long * 3 // 4) if landscape else (canvas_long * 3 // 4, canvas_long)
    background, meta["background"] = desk(rng, ch, cw)
    quad, meta["placement"] = _target_quad(rng, pw, ph, cw, ch, p)
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    m = cv2.getPerspectiveTransform(src, quad)
    warped = cv2.warpPerspective(page, m, (cw, ch), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.ones((ph, pw), np.float32), m, (cw, ch), flags=cv2.INTER_LINEAR)
    drop = cv2.GaussianBlur(np.roll(mask, (6, 8), axis=(0, 1)), (0, 0), 10)
    background *= (1 - 0.35 * drop)[:, :, None]
    img = warped * mask[:, :, None] + background * (1 - mask[:, :, None])
    light_strength = rng.uniform(0.05, 0.35)
    img *= _light(rng, ch, cw, light_strength)[:, :, None]
    meta["uneven_light"] = round(float(light_strength), 3)
    if rng.random() < p["shadow"][0]:
        strength = rng.uniform(0.15, p["shadow"][1])
        img *= _cast_shadow(rng, ch, cw, strength)[:, :, None]
        meta["shadow"] = round(float(strength), 3)
    noise = 2.0
    if rng.random() < p["dark"][0]:
        gain = float(rng.uniform(*p["dark"][1]))
        img = img * gain * np.array([0.85, 0.95, 1.05], np.float32)[None, None, :]  # warm indoor light
        noise = 2.0 + 6.0 * (1 - gain)
        meta["low_light_gain"] = round(gain, 3)
    if rng.random() < p["glare"]:  # a specular reflection saturates the sensor whatever the exposure
        glare, meta["glare"] = _glare(rng, quad, ch, cw)
        img += glare[:, :, None]
    img = np.clip(img, 0, 255)
    scale = max_side / max(cw, ch)
    img = cv2.resize(img, (round(cw * scale), round(ch * scale)), interpolation=cv2.INTER_AREA)
    if rng.random() < p["motion"]:
        length = int(rng.integers(3, 8 if severity != "harsh" else 14)) | 1
        img = cv2.filter2D(img, -1, _motion_kernel(length, float(rng.uniform(0, 180))))
        meta["motion_blur_px"] = length
    else:
        sigma = float(rng.uniform(*p["sigma"]))
        if sigma > 0.25:
            img = cv2.GaussianBlur(img, (0, 0), sigma)
        meta["blur_sigma"] = round(sigma, 2)
    img += rng.normal(0, noise, img.shape).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    corners = quad * scale
    if rng.random() < p["turn"]:
        turns = int(rng.integers(1, 4))
        for _ in range(turns):  # clockwise: (x, y) -> (h - 1 - y, x)
            corners = np.stack([img.shape[0] - 1 - corners[:, 1], corners[:, 0]], axis=1)
            img = np.ascontiguousarray(np.rot90(img, -1))
        meta["quarter_turns_cw"] = turns
    # the sheet's own top-left, top-right, bottom-right, bottom-left corners in output pixels
    meta["document_quad"] = [[round(float(x), 1), round(float(y), 1)] for x, y in corners]
    return img, meta


__all__ = ["SEVERITIES", "desk", "photograph"]
