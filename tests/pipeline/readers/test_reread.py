import cv2
import numpy as np
import pytest

from pipeline.config import PipelineSettings
from pipeline.ocr import get_engine
from pipeline.readers.reread import REREAD_CONFIDENCE, reread_ids, suspect_id
from pipeline.taxid import is_valid_uscc
from pipeline.types import TextLine
from reader_fixtures import text_image

VALID = "91120222079642398Y"
OTHER_VALID = "91370283MACQY48L1U"
MISREAD = "91120222079642398X"  # one character off: fails the check characters


def _page() -> tuple[np.ndarray, TextLine]:
    page = text_image(["SELLER NAME CO LTD", VALID, "ADDRESS 12 ROAD"], width=700)
    return page, TextLine(MISREAD, (25.0, 100.0, 420.0, 140.0), 0.93)


class _Scripted:
    """A recogniser that answers each call with the next reading of ``texts`` and counts the views it saw."""

    def __init__(self, *texts: str) -> None:
        self.texts, self.views = list(texts), []

    def __call__(self, image: np.ndarray) -> list[TextLine]:
        self.views.append(image.shape)
        text = self.texts[len(self.views) - 1] if len(self.views) <= len(self.texts) else ""
        return [TextLine(text, (0.0, 0.0, 10.0, 10.0), 0.9)] if text else []


def test_the_check_characters_or_a_low_confidence_make_an_id_suspect():
    assert is_valid_uscc(VALID) and not is_valid_uscc(MISREAD) and is_valid_uscc(OTHER_VALID)
    assert suspect_id(TextLine(MISREAD, None, 0.99)).group() == MISREAD
    assert suspect_id(TextLine(f"纳税人识别号：{MISREAD}", None, 0.99)).group() == MISREAD
    assert suspect_id(TextLine(VALID, None, 0.99)) is None
    assert suspect_id(TextLine(VALID, None, 0.3)).group() == VALID  # a repair's guess: valid, but doubted
    assert suspect_id(TextLine(f"开户行 {MISREAD}", None, 0.99)) is None  # not in an ID's place (a bank account)


def test_a_suspect_id_is_replaced_once_two_views_agree_on_a_valid_one():
    page, line = _page()
    other = TextLine("SELLER NAME CO LTD", (25.0, 40.0, 420.0, 80.0), 0.95)
    recognize = _Scripted(MISREAD, VALID, VALID, OTHER_VALID)
    lines, changed = reread_ids(page, [other, line], recognize)
    assert changed == 1 and lines[0] is other
    assert lines[1].text == VALID and lines[1].confidence == REREAD_CONFIDENCE and lines[1].box == line.box
    assert len(recognize.views) == 3  # stopped once two agreed
    h = int(line.box[3] - line.box[1])
    assert recognize.views[0][:2] == (3 * h, 420 + h)  # the line with its height around (cut at the page's edge)
    assert recognize.views[1][:2] == (6 * h, 2 * (420 + h))  # the same, enlarged


@pytest.mark.parametrize("readings", [
    (VALID, MISREAD, "", "", ""),  # one view only
    (VALID, OTHER_VALID, "", "", ""),  # two views disagree
    (MISREAD,) * 5,  # nothing valid at all
    (MISREAD, MISREAD, VALID, VALID, VALID),  # two views confirm what the page read: looking further is not tried
])
def test_without_two_agreeing_valid_readings_the_line_is_left_as_read(readings):
    page, line = _page()
    recognize = _Scripted(*readings)
    lines, changed = reread_ids(page, [line], recognize)
    assert changed == 0 and lines == [line]
    assert len(recognize.views) == (2 if readings[:2] == (MISREAD, MISREAD) else 5)


def test_a_line_read_right_is_not_looked_at_again():
    page, _ = _page()
    recognize = _Scripted(VALID, VALID)
    right = [TextLine(VALID, (25.0, 100.0, 420.0, 140.0), 0.97)]
    assert reread_ids(page, right, recognize) == (right, 0) and recognize.views == []


def test_the_engine_reads_the_id_from_the_page_when_the_page_read_garbled_it():
    page, line = _page()
    engine = get_engine("rapidocr", PipelineSettings())
    lines, changed = reread_ids(page, [line], engine.recognize)
    assert changed == 1 and lines[0].text == VALID
