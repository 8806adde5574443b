"""Taxpayer-ID repair from synthetic CTC probabilities: each character is one frame then a blank frame."""

import numpy as np
import pytest

from pipeline.ocr.repair import ClassMap, needs_repair, repair_line
from pipeline.taxid import USCC_CHARSET, is_valid_uscc

CLASSES = ["blank", *USCC_CHARSET, "O", "I", "S", "中", "国", "银", "行", "纳", "税", "人", "识", "别", "号", "：", "年",
           "月", "日", "开", "票", "期", " "]
INDEX = {c: i for i, c in enumerate(CLASSES)}
CLASS_MAP = ClassMap(CLASSES)
VALID = "91330106XGXDH28D6Y"  # passes both check characters


def frames(text: str, confusions: dict[int, dict[str, float]] | None = None,
           gap: dict[int, dict[str, float]] | None = None) -> np.ndarray:
    """Probabilities that greedy-decode to ``text``; ``confusions[i]`` spreads character i's frames over other
    characters, ``gap[i]`` puts mass on the blank frame after character i."""
    rows = []
    for i, char in enumerate(text):
        row = np.full(len(CLASSES), 1e-6)
        row[INDEX[char]] = 1.0
        for other, p in (confusions or {}).get(i, {}).items():
            row[INDEX[other]] = p
        rows.append(row / row.sum())
        blank = np.full(len(CLASSES), 1e-6)
        blank[0] = 1.0
        for other, p in (gap or {}).get(i, {}).items():
            blank[INDEX[other]] = p
        rows.append(blank / blank.sum())
    return np.array(rows, dtype=np.float32)


def misread(value: str, position: int) -> tuple[str, str]:
    """``value`` with one character changed so that it fails the checks, and the replacement character."""
    for char in "8B3560":
        if char != value[position]:
            text = value[:position] + char + value[position + 1:]
            if not is_valid_uscc(text):
                return text, char
    raise AssertionError("unreachable")


def test_a_substitution_the_recogniser_ranked_second_is_repaired():
    text, wrong = misread(VALID, 12)
    probs = frames(text, {12: {wrong: 0.55, VALID[12]: 0.4}})
    fix = repair_line(text, probs, CLASS_MAP)
    assert fix is not None and fix.text == VALID and fix.value == VALID and fix.token == text
    assert 0.1 <= fix.odds < 1.0


def test_three_plausible_substitutions_are_repaired_together():
    text = "91530186X5XDH28D6Y"  # as a blurred photo read 91330106XGXDH28D6Y
    probs = frames(text, {2: {"5": 0.56, "3": 0.44}, 6: {"8": 0.9, "0": 0.09}, 9: {"5": 0.79, "G": 0.15}})
    fix = repair_line(text, probs, CLASS_MAP)
    assert fix is not None and fix.value == VALID and fix.odds < 0.1  # low odds: the caller's confidence drops


def test_an_implausible_substitution_is_not_made():
    text, wrong = misread(VALID, 12)
    probs = frames(text, {12: {wrong: 0.95, VALID[12]: 5e-5}})  # odds 5e-5: under SINGLE_MIN_ODDS
    assert repair_line(text, probs, CLASS_MAP) is None


def test_a_character_outside_the_likely_alternatives_is_tried_when_nothing_else_passes():
    """A blurred G read 6 with G at 0.5%: no alternative the main search tries, but the one single substitution
    that passes both check characters, far likelier than any other; repaired at a low confidence."""
    text = "91320106K663M2Y36U"  # printed 91320106K6G3M2Y36U (a generated photo, seed 7, 020)
    assert is_valid_uscc("91320106K6G3M2Y36U") and not is_valid_uscc(text)
    probs = frames(text, {10: {"6": 0.9, "B": 0.02, "8": 0.02, "5": 0.02, "G": 0.005}})
    fix = repair_line(text, probs, CLASS_MAP)
    assert fix is not None and fix.value == "91320106K6G3M2Y36U" and fix.odds < 0.01


def test_a_dropped_character_is_inserted_from_the_blank_frames():
    text = VALID[:16] + VALID[17]  # the 17th character lost; the blank frame after the 16th still shows it
    probs = frames(text, gap={15: {VALID[16]: 0.3}})
    fix = repair_line(text, probs, CLASS_MAP)
    assert fix is not None and fix.value == VALID


def test_two_equally_likely_valid_readings_are_left_alone():
    # find a misreading with two different single substitutions that both pass the checks
    for position in range(8, 17):
        text, wrong = misread(VALID, position)
        for other in range(8, 17):
            if other == position:
                continue
            for char in USCC_CHARSET:
                candidate = text[:other] + char + text[other + 1:]
                if char != text[other] and is_valid_uscc(candidate):
                    probs = frames(text, {position: {wrong: 0.5, VALID[position]: 0.45},
                                          other: {text[other]: 0.5, char: 0.45}})
                    assert repair_line(text, probs, CLASS_MAP) is None
                    return
    pytest.skip("no ambiguous pair near this ID")


def test_the_line_may_carry_a_label_but_not_other_text():
    text, wrong = misread(VALID, 12)
    labelled = "纳税人识别号：" + text
    confusions = {7 + 12: {wrong: 0.55, VALID[12]: 0.4}}
    fix = repair_line(labelled, frames(labelled, confusions), CLASS_MAP)
    assert fix is not None and fix.text == "纳税人识别号：" + VALID
    bank = "中国银行" + text  # a bank account shares the shape: never touched
    assert not needs_repair(bank)
    assert repair_line(bank, frames(bank, {4 + 12: {wrong: 0.55, VALID[12]: 0.4}}), CLASS_MAP) is None


def test_valid_ids_and_mismatched_probabilities_are_left_alone():
    assert not needs_repair(VALID) and repair_line(VALID, frames(VALID), CLASS_MAP) is None
    person = "11010519491231002X"  # a valid 居民身份证号: an individual buyer's tax ID, not a misread USCC
    assert not needs_repair("纳税人识别号：" + person)
    text, _ = misread(VALID, 12)
    assert needs_repair(text)
    assert repair_line(text, frames(text[:-1]), CLASS_MAP) is None  # probabilities of another text


def test_look_alike_letters_count_as_the_digits_they_resemble():
    text = VALID.replace("0", "O")
    probs = frames(text)
    fix = repair_line(text, probs, CLASS_MAP)
    assert fix is not None and fix.value == VALID and fix.odds == pytest.approx(1.0)


def test_a_date_that_is_no_date_is_repaired_one_digit_away():
    text = "开票日期：2017年40月04日"
    at = text.index("40月")
    fix = repair_line(text, frames(text, {at: {"4": 0.6, "1": 0.3}}), CLASS_MAP)
    assert fix is not None and fix.text == "开票日期：2017年10月04日" and fix.value == "2017年10月04日"
    assert fix.odds == pytest.approx(0.5, rel=0.05)
    assert needs_repair(text) and not needs_repair("开票日期：2017年10月04日")


def test_a_bad_date_with_two_valid_neighbours_or_no_plausible_one_is_left_alone():
    text = "2023年02月30日"  # 02-20 and 02-10 ... the day's tens digit: 0, 1 and 2 all make a date
    at = text.index("30日")
    assert repair_line(text, frames(text, {at: {"3": 0.5, "2": 0.3, "1": 0.3}}), CLASS_MAP) is None
    assert repair_line(text, frames(text, {at: {"3": 0.98, "2": 0.01}}), CLASS_MAP) is None
