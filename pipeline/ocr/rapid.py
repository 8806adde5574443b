"""OCR backend ``rapidocr``: RapidOCR (PP-OCRv6 small det/rec + mobile cls) on onnxruntime or OpenVINO.

Contract: the engine is built with explicit model paths into the rapidocr wheel's own ``models/`` folder, so it
never reaches for a model hub; a missing file raises ``BackendUnavailable`` naming it. onnxruntime uses
``settings.ocr_threads`` intra-op threads and one inter-op thread; rapidocr logs at warning level only. One engine
serves one page at a time (``recognize`` holds a lock): the API's request threads share it, an OpenVINO infer
request must not run twice at once, and the sessions already use every thread they are given.

Speed settings (defaults chosen by ``benchmarks/ocr_speed_bench.py``): ``ocr_max_side_len`` caps the image's longer
side before OCR (trims peak memory), ``ocr_det_limit_side_len`` / ``ocr_det_limit_type`` size the detection input,
``ocr_use_cls`` runs the 180° text-line classifier (off by default: the image reader's clean-up has already turned
the page upright), ``ocr_rec_min_width`` is the width every recognition batch is padded to at least (rapidocr pads to
320, so short labels cost as much as a long line) and ``ocr_rec_batch_num`` the recognition batch size;
``ocr_rec_batch_width`` caps a batch's padded width (``width_batches``), which bounds the recognition model's peak
memory. ``ocr_skip_cipher`` drops the boxes of a VAT invoice's 密码区 between detection and recognition
(``pipeline.ocr.regions.cipher_rows``), so they are never recognised; with ``ocr_skip_unneeded`` the recogniser reads
a page in two rounds: everything but the long values that sit in a cell right of a short label (``labelled_values``),
then those values except the ones whose label names an address, telephone or bank account (``unneeded_label``: no
extraction uses them). The detector's input is normalised through a lookup table (bit-identical to rapidocr's float64
arithmetic, ~40 ms less per page). ``ocr_runtime`` picks the inference library under the same models: ``onnxruntime``
(float32), ``openvino`` (the ``openvino`` package, with bounded caches: ``pipeline.ocr.openvino_runtime``; bfloat16
on CPUs with AVX512-BF16/AMX) or ``auto`` (default: OpenVINO where it infers in bfloat16 and reads ``TRIAL_PAGE``
faster than onnxruntime when the engine is built (~3 s; measured, whole pipeline: on an AMD EPYC with AVX512-BF16
OpenVINO took 24% less OCR time, on an Intel Xeon with AVX512-BF16 but no AMX 14% more), else onnxruntime; see
``benchmarks/RESULTS.md``). rapidocr always builds its onnxruntime sessions (they also give the recogniser its
character list); the OpenVINO runtime then replaces the detection and recognition sessions (with ``auto``, if
OpenVINO cannot compile them or is slower on the trial page, onnxruntime stays). After every page the freed heap is
handed back to the OS, and large blocks are kept off the heap (``pipeline.ocr.heap``), so a long-lived worker does
not keep its largest page's memory. With ``ocr_repair`` a recognised line holding a taxpayer ID that fails the USCC
checks, or a date that is no date, is re-read from the recogniser's own probabilities (``pipeline.ocr.repair``); its
confidence drops to the repair's odds, at most ``REPAIRED_CONFIDENCE``, so a repaired key field sends the claim to
finance review.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from pipeline.config import PipelineSettings
from pipeline.errors import BackendUnavailable
from pipeline.ocr.base import quad_to_box, register
from pipeline.ocr.heap import keep_large_blocks_off_the_heap, release_free_memory
from pipeline.ocr.openvino_runtime import OpenVinoSession, resolve_runtime
from pipeline.ocr.repair import ClassMap, needs_repair, repair_line
from pipeline.ocr.regions import cipher_rows, labelled_values, unneeded_label
from pipeline.types import TextLine

log = logging.getLogger(__name__)

MODEL_FILES = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}


REPAIRED_CONFIDENCE = 0.5  # at most: a repaired reading is a guess its check confirmed (about 1 in 10 was wrong)
# A generated VAT invoice photo (samples/photos/000_vat_e_normal.jpg) after clean-up: what ``auto`` times both
# runtimes on. OpenVINO must read it in at most TRIAL_MARGIN of onnxruntime's time (it also holds ~100 MB more).
TRIAL_PAGE = Path(__file__).with_name("trial_page.jpg")
TRIAL_MARGIN = 0.9
_clock = time.perf_counter  # what the trial is timed with (tests replace it)
_TRIAL_VERDICTS: dict[int, bool] = {}  # threads -> did OpenVINO win the trial (one trial per process)
MAX_REPAIRS_PER_PAGE = 8  # lines tried per page (up to ~0.2 s each): a page of garbled IDs cannot stall a worker
RUNTIMES = ("auto", "onnxruntime", "openvino")  # ocr_runtime values; the last two are also the packages they need


def models_dir() -> Path:
    """The ``models/`` folder of the installed rapidocr package (found without importing it)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable("OCR backend 'rapidocr' is not installed: pip install rapidocr onnxruntime")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def rapidocr_params(settings: PipelineSettings) -> dict[str, object]:
    """rapidocr config keys for the speed settings; raises ``ValueError`` for values it cannot use."""
    if settings.ocr_det_limit_type not in {"max", "min"}:
        raise ValueError(f"ocr_det_limit_type must be 'max' or 'min', not {settings.ocr_det_limit_type!r}")
    if (settings.ocr_max_side_len < 64 or settings.ocr_det_limit_side_len < 32 or settings.ocr_rec_min_width < 16
            or settings.ocr_rec_batch_num < 1):
        raise ValueError("ocr_max_side_len >= 64, ocr_det_limit_side_len >= 32, ocr_rec_min_width >= 16 and "
                         "ocr_rec_batch_num >= 1")
    if settings.ocr_rec_batch_width < settings.ocr_rec_min_width:
        raise ValueError("ocr_rec_batch_width must be at least ocr_rec_min_width")
    if settings.ocr_runtime not in RUNTIMES:
        raise ValueError(f"ocr_runtime must be one of {', '.join(RUNTIMES)}, not {settings.ocr_runtime!r}")
    return {
        "Global.max_side_len": int(settings.ocr_max_side_len),
        "Det.limit_side_len": int(settings.ocr_det_limit_side_len),
        "Det.limit_type": settings.ocr_det_limit_type,
        "Rec.rec_img_shape": [3, 48, int(settings.ocr_rec_min_width)],
        "Rec.rec_batch_num": int(settings.ocr_rec_batch_num),
    }


def width_batches(widths: list[float], batch_num: int, batch_width: int) -> list[list[int]]:
    """Recognition batches: indices by increasing width (as rapidocr orders them), at most ``batch_num`` per
    batch and at most ``batch_width`` padded pixels in all (every crop is padded to the batch's widest). The
    recognition model's memory grows faster than linearly with the padded width: one batch of six long lines
    (widest 2,700 px) took 560 MB more than the same lines one by one, so long lines go in small batches."""
    order = sorted(range(len(widths)), key=lambda i: widths[i])
    batches: list[list[int]] = []
    for i in order:
        current = batches[-1] if batches else None
        if current is not None and len(current) < batch_num and (len(current) + 1) * widths[i] <= batch_width:
            current.append(i)
        else:
            batches.append([i])
    return batches


class _KeepOutput:
    """Wraps an inference session (``(batch) -> output``) and keeps its last output."""

    def __init__(self, session) -> None:
        self._session, self.last = session, None

    def __call__(self, batch):
        self.last = self._session(batch)
        return self.last

    def __getattr__(self, name: str):
        return getattr(self._session, name)


class _WidthBatched:
    """Wraps rapidocr's ``TextRecognizer`` (``(TextRecInput) -> TextRecOutput``) to recognise in
    ``width_batches`` instead of fixed-size ones, and (``repair``) to re-read taxpayer IDs and dates that fail
    their checks from the batch's probabilities."""

    def __init__(self, recognizer, batch_width: int, repair: bool = False) -> None:
        self._recognizer, self._batch_width = recognizer, batch_width
        self._batch_num, self._min_width = recognizer.rec_batch_num, recognizer.rec_image_shape[2]
        self._class_map: ClassMap | None = None
        if repair:
            self._class_map = ClassMap(list(recognizer.postprocess_op.character))
            self._output = recognizer.session = _KeepOutput(recognizer.session)
        self.repaired: dict[str, float] = {}  # repaired text -> confidence, since the last new_page()
        self._tries = 0
        self.boxes: list | None = None  # the page's boxes, in crop order (set by the detection step when wanted)
        self.skipped = 0  # values left unread since the last new_page()

    def new_page(self) -> None:
        self.repaired.clear()
        self._tries = 0
        self.boxes, self.skipped = None, 0

    def __call__(self, request):
        from rapidocr.ch_ppocr_rec import TextRecInput, TextRecOutput

        images = [request.img] if isinstance(request.img, np.ndarray) else list(request.img)
        widths = [max(self._min_width, 48.0 * im.shape[1] / max(1, im.shape[0])) for im in images]
        txts: list[str] = [""] * len(images)
        scores: list[float] = [0.0] * len(images)
        words: list = [None] * len(images)
        elapse, viser = 0.0, None

        def read(indices: list[int]) -> None:
            nonlocal elapse, viser
            for batch in width_batches([widths[i] for i in indices], self._batch_num, self._batch_width):
                batch = [indices[k] for k in batch]
                out = self._recognizer(TextRecInput(img=[images[i] for i in batch],
                                                    return_word_box=request.return_word_box))
                elapse += out.elapse or 0.0
                viser = viser or out.viser
                for j, i in enumerate(batch):
                    txts[i], scores[i], words[i] = out.txts[j], out.scores[j], out.word_results[j]
                if self._class_map is not None:
                    self._repair(batch, images, txts)

        boxes, self.boxes = self.boxes, None
        deferred = labelled_values(boxes) if boxes is not None and len(boxes) == len(images) else {}
        read([i for i in range(len(images)) if i not in deferred])
        wanted = [i for i in deferred if not unneeded_label(txts[deferred[i]])]  # the labels are read by now
        self.skipped += len(deferred) - len(wanted)
        read(wanted)
        return TextRecOutput(images, tuple(txts), tuple(scores), tuple(words), elapse, viser)

    def _repair(self, batch: list[int], images: list[np.ndarray], txts: list[str]) -> None:
        todo = {i for i in batch if needs_repair(txts[i])}
        if not todo:
            return
        # the recogniser runs its batch in its own order: by increasing aspect ratio (np.argsort, as it does)
        ratios = np.array([images[i].shape[1] / float(images[i].shape[0]) for i in batch])
        for row, j in enumerate(np.argsort(ratios)):
            i = batch[int(j)]
            if i in todo and self._tries < MAX_REPAIRS_PER_PAGE:
                self._tries += 1
                fixed = repair_line(txts[i], self._output.last[row], self._class_map)
                if fixed is not None:  # the score stays: rapidocr drops lines scoring under its text_score
                    txts[i] = fixed.text
                    self.repaired[fixed.text] = min(REPAIRED_CONFIDENCE, fixed.odds)


def _lut_preprocess(detector):
    """Replace rapidocr's detection preprocessing (resize, then ``(x / 255 - mean) / std`` in float64, cast to
    float32: ~45 ms on a 960 px page) by the same resize and a per-channel lookup table of those very float32
    values (~7 ms, bit-identical)."""
    own = detector.get_preprocess()  # rapidocr builds this one per page from fixed settings: one serves every page
    levels = np.arange(256, dtype=np.float32).reshape(256, 1)
    table = ((levels * own.scale - own.mean.reshape(1, -1)) / own.std.reshape(1, -1)).astype(np.float32)

    def preprocess(img: np.ndarray):
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != table.shape[1]:
            return own(img)
        resized = own.resize(img)
        if resized is None:
            return None
        out = np.empty((1, resized.shape[2], *resized.shape[:2]), dtype=np.float32)
        for c in range(resized.shape[2]):
            out[0, c] = table[resized[:, :, c], c]
        return out

    detector.get_preprocess = lambda: preprocess


def _layout_aware(detect_and_crop, skip_cipher: bool, recognizer: "_WidthBatched | None"):
    """Wrap rapidocr's detection step (``(img, op_record) -> (crops, det_output)``): drop the 密码区 boxes
    (``skip_cipher``) and hand the kept boxes to ``recognizer`` (when given), which then leaves unneeded labelled
    values unread."""

    def detect(img: np.ndarray, op_record: dict):
        crops, det = detect_and_crop(img, op_record)
        if det.boxes is None or not len(det.boxes):
            return crops, det
        boxes = [quad_to_box(quad) for quad in det.boxes]
        h, w = img.shape[:2]
        drop = cipher_rows(boxes, w, h) if skip_cipher else set()
        if drop and len(drop) < len(crops):
            keep = [i for i in range(len(crops)) if i not in drop]
            det.boxes = det.boxes[keep]
            det.scores = [det.scores[i] for i in keep] if det.scores is not None else None
            crops = [crops[i] for i in keep]
            boxes = [boxes[i] for i in keep]
        if recognizer is not None:
            recognizer.boxes = boxes
        return crops, det

    return detect


def _openvino_sessions(paths: dict[str, Path], threads: int, settings: PipelineSettings):
    """The detection and recognition sessions on OpenVINO; ``None`` when it cannot compile them and the runtime
    was chosen by ``auto`` (onnxruntime serves instead), ``BackendUnavailable`` when it was asked for by name."""
    limit = int(settings.ocr_det_limit_side_len)
    square = -(-limit // 32) * 32 if settings.ocr_det_limit_type == "max" else None  # rapidocr's sizes: multiples of 32
    try:
        return (OpenVinoSession(paths["Det"], threads, square=square),
                OpenVinoSession(paths["Rec"], threads, ladder=int(settings.ocr_rec_min_width),
                                batch=(int(settings.ocr_rec_batch_num), int(settings.ocr_rec_batch_width))))
    except RuntimeError as exc:  # what OpenVINO raises when it cannot compile a model for this CPU
        if settings.ocr_runtime != "auto":
            raise BackendUnavailable(f"OCR backend 'rapidocr': OpenVINO cannot run the models here: {exc}") from None
        log.warning("OpenVINO cannot run the OCR models here (%s); using onnxruntime", exc)
        return None


@register("rapidocr")
class RapidOcrEngine:
    name = "rapidocr"

    def __init__(self, settings: PipelineSettings) -> None:
        folder = models_dir()
        paths = {section: folder / filename for section, filename in MODEL_FILES.items()}
        for path in paths.values():
            if not path.is_file():
                raise BackendUnavailable(f"OCR backend 'rapidocr': model file {path} is missing; "
                                         "reinstall rapidocr (the models ship inside its wheel)")
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise BackendUnavailable(f"OCR backend 'rapidocr' cannot be imported: {exc}") from None
        threads = max(1, int(settings.ocr_threads))
        keep_large_blocks_off_the_heap()
        params = {
            "Global.log_level": "warning",
            "Global.model_root_dir": str(folder),
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        params.update({f"{section}.model_path": str(path) for section, path in paths.items()})
        params.update(rapidocr_params(settings))
        runtime = resolve_runtime(settings.ocr_runtime)
        for package in dict.fromkeys(("onnxruntime", runtime)):
            if importlib.util.find_spec(package) is None:
                raise BackendUnavailable(f"OCR backend 'rapidocr': ocr_runtime {runtime!r} needs the {package!r} "
                                         f"package: pip install {package}")
        self._use_cls = bool(settings.ocr_use_cls)
        self._lock = threading.Lock()
        self._ocr = RapidOCR(params=params)
        recognizer = self._ocr._load_rec_model()
        _lut_preprocess(self._ocr._load_det_model())
        if settings.ocr_runtime == "auto" and _TRIAL_VERDICTS.get(threads) is False:
            runtime = "onnxruntime"  # this process already found OpenVINO slower: nothing to compile
        sessions = _openvino_sessions(paths, threads, settings) if runtime == "openvino" else None
        self._ocr.text_rec = _WidthBatched(recognizer, int(settings.ocr_rec_batch_width),
                                           repair=bool(settings.ocr_repair))
        if settings.ocr_skip_cipher or settings.ocr_skip_unneeded:
            self._ocr.detect_and_crop = _layout_aware(self._ocr.detect_and_crop, bool(settings.ocr_skip_cipher),
                                                      self._ocr.text_rec if settings.ocr_skip_unneeded else None)
        if sessions is not None and settings.ocr_runtime == "auto":
            if threads not in _TRIAL_VERDICTS:  # once per process: every engine in it then runs on the same runtime
                _TRIAL_VERDICTS[threads] = self._openvino_wins(sessions)
            if not _TRIAL_VERDICTS[threads]:
                sessions = None
        if sessions is not None:
            self._use_sessions(sessions)
        self.runtime = "openvino" if sessions is not None else "onnxruntime"
        release_free_memory()  # what the sessions not used held

    def _sessions(self) -> tuple:
        """The (detector, recogniser) inference sessions in use."""
        recognizer = self._ocr.text_rec._recognizer
        rec = recognizer.session
        return self._ocr._load_det_model().session, rec._session if isinstance(rec, _KeepOutput) else rec

    def _use_sessions(self, sessions: tuple) -> None:
        det, rec = sessions
        self._ocr._load_det_model().session = det
        recognizer = self._ocr.text_rec._recognizer
        if isinstance(recognizer.session, _KeepOutput):  # the repair reads the recogniser's output through it
            recognizer.session._session = rec
        else:
            recognizer.session = rec

    def _openvino_wins(self, openvino: tuple) -> bool:
        """Read ``TRIAL_PAGE`` as a page is read, on the onnxruntime sessions in use and then on ``openvino``
        (detector, recogniser): does OpenVINO take at most ``TRIAL_MARGIN`` of the time? The onnxruntime sessions
        are left in use."""
        page = cv2.imread(str(TRIAL_PAGE))
        if page is None:
            log.warning("the OCR trial page %s is missing; ocr_runtime auto keeps OpenVINO", TRIAL_PAGE)
            return True
        onnx = self._sessions()
        seconds = {}
        for name, sessions in (("onnxruntime", onnx), ("openvino", openvino)):
            self._use_sessions(sessions)
            self.recognize(page)  # warm-up: first-call and first-shape costs
            start = _clock()
            self.recognize(page)
            seconds[name] = _clock() - start
        self._use_sessions(onnx)
        wins = seconds["openvino"] <= TRIAL_MARGIN * seconds["onnxruntime"]
        log.info("ocr_runtime auto: trial page read in %.2f s on OpenVINO, %.2f s on onnxruntime: using %s",
                 seconds["openvino"], seconds["onnxruntime"], "OpenVINO" if wins else "onnxruntime")
        return wins

    def recognize(self, image: np.ndarray) -> list[TextLine]:
        with self._lock:  # one page at a time: the sessions use both cores, and the page state below is shared
            self._ocr.text_rec.new_page()
            try:
                result = self._ocr(image, use_cls=self._use_cls)
            finally:
                release_free_memory()
            repaired = dict(self._ocr.text_rec.repaired)
        boxes, texts, scores = (getattr(result, attr, None) for attr in ("boxes", "txts", "scores"))
        if boxes is None or texts is None or scores is None:
            return []
        return [TextLine(text=text, box=quad_to_box(quad), confidence=min(float(score), repaired.get(text, 1.0)))
                for quad, text, score in zip(boxes, texts, scores, strict=True) if text.strip()]
