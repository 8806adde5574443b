import pytest

from pipeline.ocr.regions import cipher_rows, labelled_values, unneeded_label

W, H = 1600.0, 1000.0
CIPHER = [(1000.0, 200.0 + 36 * k, 1520.0 + 4 * (k % 2), 228.0 + 36 * k) for k in range(4)]
BUYER = [(120.0, 200.0, 600.0, 228.0), (120.0, 236.0, 560.0, 264.0), (120.0, 272.0, 700.0, 300.0),
         (120.0, 308.0, 640.0, 336.0)]
OTHER = [(1100.0, 60.0, 1400.0, 90.0), (200.0, 420.0, 900.0, 448.0), (1000.0, 700.0, 1500.0, 728.0),
         (1000.0, 736.0, 1500.0, 764.0), (1000.0, 772.0, 1500.0, 800.0)]


def test_the_cipher_stack_is_found_and_nothing_else():
    boxes = OTHER[:2] + CIPHER[:2] + BUYER + CIPHER[2:] + OTHER[2:]
    found = cipher_rows(boxes, W, H)
    assert {boxes[i] for i in found} == set(CIPHER)


def test_two_aligned_rows_are_not_enough():
    assert cipher_rows(CIPHER[:2] + BUYER, W, H) == set()


def test_left_side_and_lower_page_stacks_are_kept():
    # the buyer block (left) and the seller block low on the page are stacked too, but they hold fields
    assert cipher_rows(BUYER + OTHER, W, H) == set()


def test_rows_with_different_right_edges_are_kept():
    ragged = [(1000.0, 200.0 + 36 * k, 1300.0 + 90 * k, 228.0 + 36 * k) for k in range(4)]
    assert cipher_rows(ragged, W, H) == set()


def test_rows_far_apart_are_not_one_stack():
    spread = [(1000.0, 100.0 + 120 * k, 1520.0, 128.0 + 120 * k) for k in range(4)]
    assert cipher_rows(spread, W, H) == set()


def test_no_boxes():
    assert cipher_rows([], W, H) == set()


def test_values_in_their_own_cells_are_paired_with_the_label_to_their_left():
    boxes = [(90.0, 200.0, 190.0, 228.0), (220.0, 200.0, 700.0, 228.0),  # label | value
             (90.0, 240.0, 200.0, 268.0), (230.0, 242.0, 760.0, 270.0),  # label | value, a little lower
             (300.0, 300.0, 1100.0, 328.0),  # a long line alone
             (90.0, 400.0, 190.0, 428.0), (500.0, 400.0, 1000.0, 428.0),  # too far apart
             (90.0, 500.0, 200.0, 528.0), (210.0, 520.0, 700.0, 548.0)]  # not on the same row
    assert labelled_values(boxes) == {1: 0, 3: 2}
    assert labelled_values([]) == {}


def test_a_long_cell_is_no_label_and_a_label_is_no_value():
    # a long line left of another long line is not a label; a short box right of a label is not its value
    assert labelled_values([(90.0, 200.0, 600.0, 228.0), (620.0, 200.0, 1100.0, 228.0)]) == {}
    assert labelled_values([(90.0, 200.0, 190.0, 228.0), (200.0, 200.0, 260.0, 228.0)]) == {}


@pytest.mark.parametrize(("label", "unneeded"), [
    ("地址、电话：", True), ("地址，电话", True), ("开户行及账号：", True), ("开户行交号", True), ("监督电话", True),
    ("名称：", False), ("纳税人识别号：", False), ("统一社会信用代码/纳税人识别号：", False), ("开票日期", False),
    ("发票号码", False), ("价税合计（大写）", False), ("", False)])
def test_only_address_phone_and_bank_labels_are_unneeded(label, unneeded):
    assert unneeded_label(label) is unneeded
