from pathlib import Path

import numpy as np
import pytest

from pipeline.config import PipelineSettings
from pipeline.ocr import base, get_engine
from pipeline.ocr.rapid import rapidocr_params
from pipeline.types import TextLine


def test_speed_settings_reach_rapidocr_config():
    params = rapidocr_params(PipelineSettings(ocr_det_limit_side_len=960, ocr_det_limit_type="min",
                                              ocr_rec_min_width=200, ocr_rec_batch_num=8, ocr_max_side_len=1500))
    assert params == {"Global.max_side_len": 1500, "Det.limit_side_len": 960, "Det.limit_type": "min",
                      "Rec.rec_img_shape": [3, 48, 200], "Rec.rec_batch_num": 8}


@pytest.mark.parametrize("override", [{"ocr_det_limit_type": "both"}, {"ocr_rec_min_width": 0},
                                      {"ocr_rec_batch_num": 0}, {"ocr_det_limit_side_len": 8},
                                      {"ocr_max_side_len": 10}, {"ocr_rec_batch_width": 100}])
def test_unusable_speed_settings_are_refused(override):
    with pytest.raises(ValueError):
        rapidocr_params(PipelineSettings(**override))


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("REIMBURSE_OCR_USE_CLS", "true")
    monkeypatch.setenv("REIMBURSE_OCR_REC_MIN_WIDTH", "320")
    settings = PipelineSettings()
    assert settings.ocr_use_cls is True and settings.ocr_rec_min_width == 320


class _Recorder:
    name = "recorder"

    def __init__(self, settings: PipelineSettings) -> None:
        self.settings = settings

    def recognize(self, image: np.ndarray) -> list[TextLine]:
        return []


def test_engines_with_different_speed_settings_are_different_engines(monkeypatch):
    monkeypatch.setitem(base._REGISTRY, "recorder", _Recorder)
    monkeypatch.setattr(base, "_ENGINES", {})
    tuned = get_engine("recorder", PipelineSettings())
    assert get_engine("recorder", PipelineSettings()) is tuned
    with_cls = get_engine("recorder", PipelineSettings(ocr_use_cls=True))
    assert with_cls is not tuned and with_cls.settings.ocr_use_cls


def test_engine_options_ignore_the_backend_name():
    names = [name for name, _ in base.engine_options(PipelineSettings())]
    assert "ocr_backend" not in names and {"ocr_threads", "ocr_use_cls", "ocr_rec_min_width"} <= set(names)


def test_rapidocr_with_classifier_on_and_off_reads_the_same_line():
    import cv2
    img = np.full((120, 700, 3), 255, np.uint8)
    cv2.putText(img, "INVOICE NO 33207675", (20, 75), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (0, 0, 0), 3, cv2.LINE_AA)
    for use_cls in (False, True):
        lines = get_engine("rapidocr", PipelineSettings(ocr_use_cls=use_cls)).recognize(img)
        assert any("33207675" in line.text.replace(" ", "") for line in lines), (use_cls, lines)


def _quad(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def test_cipher_boxes_are_dropped_before_recognition_and_the_rest_reach_the_recogniser():
    from types import SimpleNamespace

    from pipeline.ocr.rapid import _layout_aware

    cipher = [_quad(1000, 200 + 36 * k, 1520, 228 + 36 * k) for k in range(4)]
    fields = [_quad(100, 60, 500, 90), _quad(120, 200, 600, 228)]
    quads = np.array(fields + cipher, dtype=float)
    det = SimpleNamespace(boxes=quads, scores=[0.9] * len(quads))
    crops = [f"crop{i}" for i in range(len(quads))]
    image = np.zeros((1000, 1600, 3), np.uint8)
    recognizer = SimpleNamespace(boxes=None)
    kept_crops, kept = _layout_aware(lambda img, op: (crops, det), True, recognizer)(image, {})
    assert kept_crops == ["crop0", "crop1"] and len(kept.boxes) == 2 and kept.scores == [0.9, 0.9]
    assert recognizer.boxes == [(100, 60, 500, 90), (120, 200, 600, 228)]


def test_address_and_bank_values_are_left_unread_after_their_labels():
    """The recogniser reads the short label cells first, then only the values extraction uses."""
    from pipeline.ocr.rapid import _WidthBatched

    boxes = [(90, 200, 190, 228), (220, 200, 700, 228),   # 名称 | the buyer's name
             (90, 240, 200, 268), (220, 240, 760, 268),   # 地址、电话 | an address
             (90, 280, 210, 308), (220, 280, 800, 308),   # 开户行及账号 | a bank account
             (300, 600, 1100, 628)]                       # a line without a label
    texts = ["名称：", "北京某某科技有限公司", "地址、电话：", "北京市海淀区某路1号 010-1234567", "开户行及账号：",
             "中国银行北京分行 1234567890", "价税合计"]
    crops = [np.full((28, int(x1 - x0), 3), k, np.uint8) for k, (x0, y0, x1, y1) in enumerate(boxes)]
    read: list[int] = []

    class Recognizer:  # rapidocr's TextRecognizer: recognises a batch; each crop's fill value says which it is
        rec_batch_num, rec_image_shape = 6, [3, 48, 160]

        def __call__(self, request):
            from rapidocr.ch_ppocr_rec import TextRecOutput

            ids = [int(im[0, 0, 0]) for im in request.img]
            read.extend(ids)
            return TextRecOutput(request.img, tuple(texts[i] for i in ids), tuple(0.9 for _ in ids),
                                 tuple(None for _ in ids), 0.0)

    from rapidocr.ch_ppocr_rec import TextRecInput

    wrapped = _WidthBatched(Recognizer(), 1600)
    wrapped.boxes = boxes
    out = wrapped(TextRecInput(img=crops))
    assert sorted(read) == [0, 1, 2, 4, 6] and wrapped.skipped == 2
    assert out.txts == (texts[0], texts[1], texts[2], "", texts[4], "", texts[6])
    assert wrapped.boxes is None  # used once: the next call (another page) must hand over its own
    read.clear()
    out = wrapped(TextRecInput(img=crops))  # without boxes every crop is read
    assert sorted(read) == list(range(7)) and out.txts == tuple(texts)


def test_width_batches_keep_rapidocrs_order_and_put_long_lines_in_small_batches():
    from pipeline.ocr.rapid import width_batches

    widths = [300.0, 160.0, 2700.0, 200.0, 1200.0, 1100.0, 160.0, 250.0, 900.0]
    batches = width_batches(widths, batch_num=6, batch_width=4800)
    assert sorted(i for b in batches for i in b) == list(range(len(widths)))  # every crop exactly once
    flat = [widths[i] for b in batches for i in b]
    assert flat == sorted(widths)  # narrow to wide, as rapidocr batches them
    assert all(len(b) <= 6 and len(b) * max(widths[i] for i in b) <= 4800 or len(b) == 1 for b in batches)
    assert [2] in batches  # the 2,700 px line is recognised alone
    assert width_batches([], 6, 4800) == []


def test_width_batched_recognition_reads_every_line_once():
    import cv2

    img = np.full((420, 1500, 3), 255, np.uint8)
    texts = ["INVOICE NO 33207675", "TOTAL 52.70", "SELLER 91120222079642398Y AND A VERY LONG LINE OF TEXT"]
    for k, text in enumerate(texts):
        cv2.putText(img, text, (20, 90 + 120 * k), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 2, cv2.LINE_AA)
    narrow = get_engine("rapidocr", PipelineSettings(ocr_rec_batch_width=200)).recognize(img)  # one line a batch
    wide = get_engine("rapidocr", PipelineSettings(ocr_rec_batch_width=100_000)).recognize(img)
    assert [line.box for line in narrow] == [line.box for line in wide]  # same lines, each read once
    for lines in (narrow, wide):  # padding differs between the two, so the texts may differ in a letter
        compact = [line.text.replace(" ", "") for line in lines]
        assert any("33207675" in t for t in compact) and any("52.70" in t for t in compact), compact
        assert any("91120222079642398Y" in t for t in compact), compact


def test_an_unknown_runtime_is_refused_and_a_missing_one_says_what_to_install(monkeypatch):
    import importlib.util

    from pipeline.errors import BackendUnavailable
    from pipeline.ocr import rapid

    with pytest.raises(ValueError, match="ocr_runtime"):
        rapid.rapidocr_params(PipelineSettings(ocr_runtime="tensorrt"))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "openvino" else real_find_spec(name, *a))
    with pytest.raises(BackendUnavailable, match="pip install openvino"):
        rapid.RapidOcrEngine(PipelineSettings(ocr_runtime="openvino"))


def test_the_openvino_runtime_reads_the_same_text():
    pytest.importorskip("openvino")
    import cv2

    img = np.full((120, 700, 3), 255, np.uint8)
    cv2.putText(img, "INVOICE NO 33207675", (20, 75), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (0, 0, 0), 3, cv2.LINE_AA)
    lines = get_engine("rapidocr", PipelineSettings(ocr_runtime="openvino")).recognize(img)
    assert any("33207675" in line.text.replace(" ", "") for line in lines), lines


def test_a_blurred_tax_id_is_repaired_from_the_recognisers_second_choices():
    """A crop of a generated photo (benchmarks/photos, seed 2024, 006) whose seller ID the recogniser misreads in
    two characters; the repair finds the printed ID and the line's confidence drops to the repair's odds."""
    import cv2

    from pipeline.taxid import is_valid_uscc

    crop = cv2.imread(str(Path(__file__).parent / "fixtures" / "blurred_tax_id.png"))
    plain = get_engine("rapidocr", PipelineSettings(ocr_repair=False)).recognize(crop)
    repaired = get_engine("rapidocr", PipelineSettings()).recognize(crop)
    assert [line.box for line in plain] == [line.box for line in repaired]
    (before,), (after,) = plain, repaired
    assert not is_valid_uscc(before.text) and before.confidence > 0.8
    assert after.text == "91330106XGXDH28D6Y" and after.confidence < 0.5


def test_repairs_map_batch_rows_back_to_their_lines_and_stop_at_the_page_cap():
    """A stand-in for rapidocr's recogniser (it runs each batch by increasing aspect ratio, as rapidocr does)
    whose crops each read as a different misread ID: each line gets its own repair, and only
    ``MAX_REPAIRS_PER_PAGE`` lines are tried per page."""
    from itertools import product
    from types import SimpleNamespace

    from rapidocr.ch_ppocr_rec import TextRecOutput

    from pipeline.ocr.rapid import MAX_REPAIRS_PER_PAGE, _WidthBatched
    from pipeline.taxid import USCC_CHARSET, is_valid_uscc
    from tests.pipeline.ocr.test_repair import CLASSES, frames, misread

    def valid_id(n: int) -> str:
        head = f"91440106{n:08d}"
        return next(head + a + b for a, b in product("0123456789X", USCC_CHARSET) if is_valid_uscc(head + a + b))

    truth = {}  # crop width -> (printed ID, position misread)

    class Recogniser:
        rec_batch_num, rec_image_shape = 6, [3, 48, 160]
        postprocess_op = SimpleNamespace(character=CLASSES)

        def __init__(self) -> None:
            self.session = lambda batch: batch

        def __call__(self, request):
            images = list(request.img)
            order = np.argsort([im.shape[1] / im.shape[0] for im in images])
            out, rows = [""] * len(images), []
            for k in order:
                value, pos = truth[images[k].shape[1]]
                out[k], wrong = misread(value, pos)
                rows.append(frames(out[k], {pos: {wrong: 0.55, value[pos]: 0.4}}))
            length = max(len(r) for r in rows)
            self.session(np.stack([np.pad(r, ((0, length - len(r)), (0, 0))) for r in rows]))
            return TextRecOutput(images, tuple(out), (0.9,) * len(images), (None,) * len(images), 0.0, None)

    crops = []
    for n in range(10):
        width = 200 + 37 * ((n * 7) % 10)  # out of order: the batches are sorted by width, the lines are not
        truth[width] = (valid_id(1000 * n + 7), 9 + n % 8)
        crops.append(np.zeros((48, width, 3), np.uint8))
    wrapped = _WidthBatched(Recogniser(), batch_width=100_000, repair=True)
    wrapped.new_page()
    texts = wrapped(SimpleNamespace(img=crops, return_word_box=False)).txts
    expected = [truth[c.shape[1]][0] for c in crops]
    assert sum(t == e for t, e in zip(texts, expected)) == MAX_REPAIRS_PER_PAGE  # each repair on its own line
    assert all(t == e or t == misread(*truth[c.shape[1]])[0] for t, e, c in zip(texts, expected, crops))
    wrapped.new_page()
    assert list(wrapped(SimpleNamespace(img=crops[:MAX_REPAIRS_PER_PAGE], return_word_box=False)).txts) == \
        expected[:MAX_REPAIRS_PER_PAGE]


def test_pages_recognised_from_several_threads_at_once_read_as_they_do_one_by_one():
    from concurrent.futures import ThreadPoolExecutor

    import cv2

    pages = []
    for k in range(4):
        img = np.full((160, 900, 3), 255, np.uint8)
        cv2.putText(img, f"INVOICE NO 3320767{k}", (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, f"TOTAL {k + 1}2.70", (20, 130), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (0, 0, 0), 3, cv2.LINE_AA)
        pages.append(img)
    engine = get_engine("rapidocr", PipelineSettings())
    one_by_one = [engine.recognize(page) for page in pages]
    with ThreadPoolExecutor(4) as pool:
        at_once = list(pool.map(engine.recognize, pages * 2))
    assert at_once == one_by_one * 2
