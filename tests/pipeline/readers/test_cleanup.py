import json

import cv2
import numpy as np
import pytest
from reader_fixtures import REAL_DATA, qr_image

from pipeline.readers.cleanup import (Cleaned, clean_photo, estimate_skew, find_document, map_box,
                                      text_is_horizontal, turn_upright_from_vertical_text)
from pipeline.readers.imageio import decode_image
from pipeline.readers.qr import decode_qr

PAYLOAD = "01,32,,24922000000078112547,214.00,20241228,,A176"


def _page(width: int = 1400, height: int = 900, with_qr: bool = True) -> np.ndarray:
    """A flat invoice-like page: frame, QR top-left, 24 lines of text."""
    img = np.full((height, width, 3), 248, np.uint8)
    cv2.rectangle(img, (40, 250), (width - 40, height - 40), (60, 60, 150), 2)
    if with_qr:
        code = qr_image(PAYLOAD, module_px=5)
        img[20:20 + code.shape[0], 40:40 + code.shape[1]] = code[:, :, None]
    for i in range(22):
        x, y = (320, 50 + 36 * i) if i < 5 else (80, 290 + 32 * (i - 5))
        cv2.putText(img, f"ITEM {i:02d} INVOICE 1489{i:04d} AMOUNT {120 + i}.50 TAX {i}.20", (x, y),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.75, (20, 20, 20), 2, cv2.LINE_AA)
    return img


def _photo(page: np.ndarray, tilt_deg: float = 7.0, turns: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``page`` on a dark textured desk, tilted and in perspective, then turned ``turns`` quarter turns
    clockwise; returns the photo and the page corners in it."""
    ph, pw = page.shape[:2]
    cw, ch = 2000, 1500
    rng = np.random.default_rng(3)
    desk = cv2.GaussianBlur(rng.normal(60, 25, (ch, cw, 3)).astype(np.float32), (0, 0), 3)
    t = np.deg2rad(tilt_deg)
    corners = np.array([[-pw / 2, -ph / 2], [pw / 2, -ph / 2], [pw / 2, ph / 2], [-pw / 2, ph / 2]], np.float32)
    corners[0] += (30, 20)  # perspective: the far edge shorter
    corners[1] += (-30, 20)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]], np.float32)
    quad = corners @ rot.T + np.array([cw / 2, ch / 2], np.float32)
    m = cv2.getPerspectiveTransform(np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32), quad)
    warped = cv2.warpPerspective(page.astype(np.float32), m, (cw, ch))
    mask = cv2.warpPerspective(np.ones((ph, pw), np.float32), m, (cw, ch))[:, :, None]
    photo = np.clip(warped * mask + desk * (1 - mask), 0, 255).astype(np.uint8)
    photo = cv2.GaussianBlur(photo, (0, 0), 0.8)
    for _ in range(turns):
        photo = cv2.rotate(photo, cv2.ROTATE_90_CLOCKWISE)
    return photo, quad


def _line_angle(image: np.ndarray) -> float:
    angle = estimate_skew(image)
    assert angle is not None
    return abs(angle)


def test_flat_scan_is_left_alone():
    page = _page()
    cleaned = clean_photo(page)
    assert cleaned.steps == [] and cleaned.image is page
    assert np.allclose(cleaned.matrix, np.eye(3)) and cleaned.document is None


def test_perspective_photo_comes_back_upright_and_rectangular():
    page = _page()
    photo, quad = _photo(page)
    found = find_document(photo)
    assert found is not None and np.abs(found - quad).max() < 12  # corners within a few px at 640 px analysis
    cleaned = clean_photo(photo)
    assert "document" in cleaned.steps
    h, w = cleaned.image.shape[:2]
    assert abs(w / h - page.shape[1] / page.shape[0]) < 0.05
    assert _line_angle(cleaned.image) < 0.6
    [code] = decode_qr(cleaned.image)
    assert code.text == PAYLOAD
    _, _, x1, y1 = code.box
    assert x1 < w / 3 and y1 < h / 3  # top-left, where it is printed


def test_quarter_turns_are_undone_by_the_qr_code():
    photo, _ = _photo(_page(), tilt_deg=3.0, turns=1)
    cleaned = clean_photo(photo)
    assert "rotate:270" in cleaned.steps
    h, w = cleaned.image.shape[:2]
    assert w > h
    [code] = decode_qr(cleaned.image)
    assert code.box[2] < w / 3 and code.box[3] < h / 3


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_quarter_turns_are_undone_by_the_text_without_a_qr_code(turns):
    photo, _ = _photo(_page(with_qr=False), tilt_deg=2.0, turns=turns)
    cleaned = clean_photo(photo)
    assert f"rotate:{90 * ((4 - turns) % 4)}" in cleaned.steps
    upright = clean_photo(_photo(_page(with_qr=False), tilt_deg=2.0)[0])
    assert not any(step.startswith("rotate") for step in upright.steps)


def test_matrix_maps_input_boxes_to_the_cleaned_image():
    photo, _ = _photo(_page(), tilt_deg=5.0, turns=2)
    [before] = decode_qr(photo)
    cleaned = clean_photo(photo)
    [after] = decode_qr(cleaned.image)
    mapped = map_box(cleaned.matrix, before.box)
    assert np.allclose(mapped, after.box, atol=25)


def test_uneven_light_is_evened_out():
    page = _page().astype(np.float32)
    w = page.shape[1]
    shade = np.linspace(0.45, 1.0, w, dtype=np.float32)[None, :, None]  # a shadow across the page
    shaded = (page * shade).astype(np.uint8)
    cleaned = clean_photo(shaded)
    assert "lighting" in cleaned.steps
    grey = cv2.cvtColor(cleaned.image, cv2.COLOR_BGR2GRAY)
    left, right = np.percentile(grey[:, : w // 5], 90), np.percentile(grey[:, -w // 5:], 90)
    assert abs(left - right) < 15 and left > 200


@pytest.mark.real_data
@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="real documents not present")
def test_real_renders_are_not_touched_and_photos_stay_upright():
    """The PDF renders in cn_img_batch fill their frame: nothing to do. Every real image keeps its (upright)
    orientation and its QR code (measured: clean-up changed OCR outcome on none of them)."""
    for path in sorted((REAL_DATA / "cn_img_batch").glob("*.jpg")) + sorted((REAL_DATA / "cn_img").glob("*.*g")):
        image = decode_image(path.read_bytes(), 60_000_000, 2400)
        cleaned = clean_photo(image)
        assert not any(s.startswith("rotate") for s in cleaned.steps), (path.name, cleaned.steps)
        if path.parent.name == "cn_img_batch":
            assert cleaned.steps == [], (path.name, cleaned.steps)
        truth = json.loads(path.with_name(path.stem + ".truth.json").read_text("utf-8"))
        raw = (truth.get("qr") or {}).get("qr_raw")
        if raw:
            assert raw in [c.text for c in decode_qr(cleaned.image)], path.name


def _receipt(lines: int = 40) -> np.ndarray:
    """A tall, narrow till receipt: monospaced text whose line spacing is tighter than its word spacing."""
    img = np.full((40 + 22 * lines, 460, 3), 250, np.uint8)
    for i in range(lines):
        text = [f"ITEM  {i:02d}   1 X   {i + 3}.90", f"TOTAL  INCL.  GST   RM {i}.50", "- - - - - - - - -"][i % 3]
        cv2.putText(img, text, (20, 30 + 22 * i), cv2.FONT_HERSHEY_PLAIN, 1.3, (25, 25, 25), 1, cv2.LINE_AA)
    return img


def test_an_upright_tall_receipt_is_not_turned_and_a_turned_one_is():
    receipt = _receipt()
    assert not any(s.startswith("rotate") for s in clean_photo(receipt).steps)
    turned = clean_photo(cv2.rotate(receipt, cv2.ROTATE_90_CLOCKWISE))
    assert "rotate:270" in turned.steps


@pytest.mark.real_data
@pytest.mark.skipif(not (REAL_DATA / "sroie").is_dir(), reason="real documents not present")
def test_upright_sroie_receipts_are_not_turned():
    for path in sorted((REAL_DATA / "sroie").glob("*.jpg")):
        cleaned = clean_photo(decode_image(path.read_bytes(), 60_000_000, 2400))
        assert not any(s.startswith("rotate") for s in cleaned.steps), (path.name, cleaned.steps)


@pytest.mark.parametrize("turns", [1, 3])
def test_a_page_whose_text_runs_vertically_is_turned_upright(turns):
    page = _page(with_qr=False)
    sideways = page
    for _ in range(turns):
        sideways = cv2.rotate(sideways, cv2.ROTATE_90_CLOCKWISE)
    out = Cleaned(image=sideways.copy())
    turn_upright_from_vertical_text(out)
    assert out.image.shape == page.shape
    assert text_is_horizontal(cv2.cvtColor(out.image, cv2.COLOR_BGR2GRAY))
    assert np.abs(out.image.astype(int) - page.astype(int)).mean() < 1  # upright, not upside down
    assert out.steps == (["rotate:90"] if turns == 3 else ["rotate:90", "rotate:180"])
