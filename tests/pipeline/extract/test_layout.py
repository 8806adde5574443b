"""Layout: labels split over boxes, values continued in the next boxes, column breaks, skew, whole lines."""

from __future__ import annotations

import itertools
import math

from pipeline.extract.layout import Layout, spaced, span_box
from pipeline.types import TextLine


def layout(*items, width: float = 1000, height: float = 600) -> Layout:
    return Layout([TextLine(t, box, conf) for t, box, conf in items], width, height)


def test_label_split_over_two_boxes_and_value_inside_the_second():
    lay = layout(("名", (108, 149, 126, 167), 1.0), ("称：个人", (168, 148, 219, 167), 0.97))
    [hit] = lay.value_after(spaced("名称"), r"(\S+)")
    assert hit.value == "个人"
    assert hit.conf == 0.97
    assert hit.box[0] > 168  # the value's share of the second box, not the label's


def test_value_continues_in_the_next_box_and_compact_joins_groups():
    lay = layout(("开票日期：2019", (624, 98, 721, 114), 1.0), ("05 08", (715, 99, 772, 112), 0.98),
                 ("校验码:76939 05688", (625, 121, 740, 137), 0.96), ("34666 77916", (742, 121, 809, 137), 0.9))
    [date_hit] = lay.value_after(spaced("开票日期"), r"([\d\s年月日]+)")
    assert date_hit.value == "2019 05 08"
    [check] = lay.value_after(spaced("校验码"), r"(\d{20})", compact=True)
    assert check.value == "76939056883466677916"
    assert check.conf == 0.9  # the lowest score of the boxes the value was read from


def test_value_never_runs_across_a_column_break():
    # the buyer's empty 纳税人识别号 is followed, far right, by the 密码区 cipher: not a value
    lay = layout(("纳税人识别号：", (109, 170, 192, 188), 1.0), ("227268<07//400<+3->", (554, 171, 816, 187), 1.0),
                 ("名称：甲公司", (100, 200, 200, 218), 1.0), ("乙", (204, 200, 220, 218), 1.0),
                 ("名称：丙公司", (600, 200, 700, 218), 1.0))
    assert lay.value_after(spaced("纳税人识别号"), r"([0-9A-Z]{15,20})") == []
    values = [h.value for h in lay.value_after(spaced("名称"), r"([^\t]+)")]
    assert values == ["甲公司 乙", "丙公司"]


def test_a_value_may_sit_one_column_away_from_its_label():
    lay = layout(("发票号码：", (600, 30, 660, 45), 1.0), ("12345678", (760, 30, 820, 45), 1.0))
    assert [h.value for h in lay.value_after(spaced("发票号码"), r"(\d{8})")] == ["12345678"]
    assert lay.value_after(spaced("发票号码"), r"(\d{8})", skip_gap=False) == []


def test_taller_boxes_do_not_join_rows():
    lay = layout(("购买方", (81, 157, 103, 220), 1.0), ("名称：甲", (108, 160, 200, 176), 1.0))
    seg = next(s for s in lay.segs if s.text == "购买方")
    assert lay.right_of(seg) == []


def test_lines_without_boxes_get_one_row_each():
    lay = Layout([TextLine("发票号码：12345678"), TextLine("开票日期：2024年01月02日")])
    assert [h.value for h in lay.value_after(spaced("发票号码"), r"(\d+)")] == ["12345678"]
    assert len(lay.rows(lay.segs)) == 2


def test_skewed_photo_rows_are_straightened():
    angle = math.radians(2.0)
    items = []
    for row in range(12):
        y = 40.0 * row
        for col, text in enumerate(("标签", "甲乙丙", "丁戊", "12.34")):
            x = 50.0 + 220.0 * col
            dy = x * math.tan(angle)
            items.append((f"{text}{row}", (x, y + dy, x + 60, y + dy + 18), 1.0))
    lay = layout(*items)
    assert abs(lay.slope - math.tan(angle)) < 0.01
    first = next(s for s in lay.segs if s.text == "标签0")
    assert [s.text for s in lay.right_of(first)] == ["甲乙丙0", "丁戊0", "12.340"]


def test_straight_page_is_left_as_is():
    items = [(f"字{r}{c}", (50.0 + 200 * c, 30.0 * r, 100.0 + 200 * c, 30.0 * r + 16), 1.0)
             for r in range(10) for c in range(3)]
    lay = layout(*items)
    assert lay.slope == 0.0 or abs(lay.slope) < 1e-9
    assert lay.segs[0].box == (50.0, 0.0, 100.0, 16.0)


def test_tokens_cut_a_whole_line_into_words_in_order():
    lay = layout(("*经营租赁*通行费 鄂AHG248 184.65 3% 5.54", (24, 161, 589, 170), 1.0))
    words = lay.tokens(lay.segs)
    assert [w.text for w in words] == ["*经营租赁*通行费", "鄂AHG248", "184.65", "3%", "5.54"]
    assert all(a.x1 <= b.x0 + 1e-6 for a, b in itertools.pairwise(words))


def test_span_box_takes_a_share_of_a_whole_line():
    lay = layout(("名称：甲公司 名称：乙公司", (0, 0, 130, 10), 1.0))
    hits = lay.value_after(spaced("名称"), r"(\S+)")
    assert [h.value for h in hits] == ["甲公司", "乙公司"]
    assert hits[0].label_box[0] < hits[1].label_box[0]
    seg = lay.segs[0]
    assert span_box([(0, 10, seg)], 0, 5)[2] == 65.0
