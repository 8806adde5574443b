from pipeline.readers.layout import group_rows, reading_order
from pipeline.types import TextLine


def test_rows_top_to_bottom_then_left_to_right():
    lines = [
        TextLine("right", (300, 12, 400, 30)),
        TextLine("second row", (10, 50, 200, 68)),
        TextLine("left", (10, 10, 100, 28)),
        TextLine("no box"),
        TextLine("slightly lower, same row", (150, 14, 250, 32)),
    ]
    assert [line.text for line in reading_order(lines)] == [
        "left", "slightly lower, same row", "right", "second row", "no box"]


def test_items_overlapping_less_than_half_start_a_new_row():
    a, b = (0, 0, 10, 10), (20, 6, 30, 16)  # 4 of 10 units overlap
    assert group_rows([a, b], lambda box: box) == [[a], [b]]


def test_a_tall_label_does_not_glue_two_rows_together():
    tall = (0, 0, 10, 40)
    top, bottom = (20, 2, 60, 12), (20, 26, 60, 36)
    rows = group_rows([top, tall, bottom], lambda box: box)
    assert rows == [[tall], [top], [bottom]]
