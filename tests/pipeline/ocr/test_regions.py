from pipeline.ocr.regions import cipher_rows

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
