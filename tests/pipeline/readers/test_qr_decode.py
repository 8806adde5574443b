import cv2
import numpy as np
import pytest

from pipeline.readers import qr
from pipeline.readers.qr import decode_qr
from reader_fixtures import qr_image

PAYLOAD = "01,32,,24922000000078112547,214.00,20241228,,A176"


@pytest.fixture(params=["zxing", "opencv"])
def decoder(request, monkeypatch):
    if request.param == "opencv":
        monkeypatch.setattr(qr, "zxingcpp", None)
    elif qr.zxingcpp is None:
        pytest.skip("zxing-cpp is not installed")
    return request.param


def _page_with_qr(code: np.ndarray, at: tuple[int, int], size=(1000, 1500)) -> np.ndarray:
    page = np.full((*size, 3), 255, np.uint8)
    y, x = at
    page[y:y + code.shape[0], x:x + code.shape[1]] = code[:, :, None]
    return page


def _dark_bounds(grey: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(grey < 128)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def test_generated_qr_is_decoded_with_its_box(decoder):
    code = qr_image(PAYLOAD)
    page = _page_with_qr(code, (40, 60))
    [found] = decode_qr(page, page=2)
    assert found.text == PAYLOAD and found.page == 2
    expected = _dark_bounds(cv2.cvtColor(page, cv2.COLOR_BGR2GRAY))
    assert all(abs(got - want) <= 7 for got, want in zip(found.box, expected, strict=True)), (found.box, expected)


# Module size and page scale at which the plain pass of each decoder fails and an upscaled pass succeeds.
_SMALL = {"zxing": (2, 0.6), "opencv": (2, 1.0)}


def test_small_qr_in_the_top_left_corner_needs_the_upscaled_passes(decoder):
    module_px, scale = _SMALL[decoder]
    code = qr_image(PAYLOAD, module_px=module_px, border=2)
    page = cv2.resize(_page_with_qr(code, (30, 30), size=(900, 1300)), None, fx=scale, fy=scale,
                      interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    assert (qr._zxing if decoder == "zxing" else qr._opencv)(grey) == []  # the plain pass alone misses it
    assert [c.text for c in decode_qr(page)] == [PAYLOAD]
    assert decode_qr(page, upscale=False) == []


def test_grey_and_bgra_inputs_are_accepted(decoder):
    page = _page_with_qr(qr_image(PAYLOAD), (100, 100))
    assert decode_qr(cv2.cvtColor(page, cv2.COLOR_BGR2GRAY))[0].text == PAYLOAD
    assert decode_qr(cv2.cvtColor(page, cv2.COLOR_BGR2BGRA))[0].text == PAYLOAD


def test_no_qr_and_unusable_arrays_give_nothing(decoder):
    assert decode_qr(np.full((300, 400, 3), 255, np.uint8)) == []
    assert decode_qr(np.zeros((0, 0, 3), np.uint8)) == []
    assert decode_qr(np.zeros((10, 10), np.float32)) == []


def test_two_codes_are_both_returned_once_each():
    if qr.zxingcpp is None:
        pytest.skip("zxing-cpp is not installed")
    page = _page_with_qr(qr_image("first"), (50, 50))
    code = qr_image("second")
    page[500:500 + code.shape[0], 900:900 + code.shape[1]] = code[:, :, None]
    assert sorted(c.text for c in decode_qr(page)) == ["first", "second"]


@pytest.mark.parametrize(("module_px", "sigma"), [(2, 1.0), (3, 1.6)])
def test_a_blurred_code_is_decoded_after_sharpening(module_px, sigma, monkeypatch):
    if qr.zxingcpp is None:
        pytest.skip("the sharpened passes use zxing-cpp")
    page = cv2.GaussianBlur(_page_with_qr(qr_image(PAYLOAD, module_px=module_px), (40, 60)), (0, 0), sigma)
    [found] = decode_qr(page)
    assert found.text == PAYLOAD
    monkeypatch.setattr(qr, "_unsharp", lambda grey, sigma=2.0: grey)
    assert decode_qr(page) == []  # so the case really needs the sharpened pass


def test_with_zxing_a_page_without_a_code_skips_opencv(monkeypatch):
    if qr.zxingcpp is None:
        pytest.skip("zxing-cpp is not installed")

    def opencv(grey):
        raise AssertionError("OpenCV never found a code zxing-cpp missed (qr.py): it is not run")

    monkeypatch.setattr(qr, "_opencv", opencv)
    assert decode_qr(np.full((900, 1300, 3), 255, np.uint8)) == []
