import json
from pathlib import Path

import pytest

from pipeline.taxid import USCC_CHARSET, classify_tax_id, is_valid_id_card, is_valid_uscc

VALID_USCC = [
    "91110000600037341L", "91350200MA2YJ1XR9G", "91350200776049653A", "91440101MA5CJQ4N59", "913502000728319549",
    "123502001549897397", "9135021359498494XQ", "91350213678251743X", "913210005691135521", "91530102MA7KNHQC36",
    "52310106751466629W", "91310114MA1GW61J6U", "91110116MA01BP9R44", "911201163409833307", "9153000077859986X2",
    "92420100MA4JMP6D4P",
]
INVALID_USCC = ["91350203M0001QAY9B", "91500102563638729E"]


def _with_gb32100_check(first17: str) -> str:
    """Append a correct GB 32100 check char (independent re-implementation of §3.1)."""
    total = sum(USCC_CHARSET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return first17 + USCC_CHARSET[(31 - total % 31) % 31]


@pytest.mark.parametrize("code", VALID_USCC)
def test_valid_uscc(code):
    assert is_valid_uscc(code)
    assert classify_tax_id(code) == "uscc"


@pytest.mark.parametrize("code", [" 9111 0000 6000 3734 1L ", "91110000600037341l", "９１１１００００６０００３７３４１Ｌ"])
def test_valid_uscc_tolerates_spacing_case_and_width(code):
    assert is_valid_uscc(code)


@pytest.mark.parametrize("code", INVALID_USCC)
def test_invalid_uscc_is_a_bad_checksum_not_unknown(code):
    assert not is_valid_uscc(code)
    assert classify_tax_id(code) == "uscc_bad_checksum"


@pytest.mark.parametrize("code", VALID_USCC)
def test_every_single_char_change_is_caught(code):
    for i in range(18):
        for c in "0A":
            if code[i] != c:
                assert not is_valid_uscc(code[:i] + c + code[i + 1:])


def test_embedded_org_code_check_is_enforced():
    # Right GB 32100 check char, wrong GB 11714 check char at position 17.
    good = "91110000600037341L"
    bad = _with_gb32100_check(good[:16] + "2")
    assert bad[17] != good[17] and bad[16] == "2"
    assert not is_valid_uscc(bad)
    assert classify_tax_id(bad) == "uscc_bad_checksum"
    assert _with_gb32100_check(good[:17]) == good  # the helper agrees on the valid code


@pytest.mark.parametrize("code", [
    "", None, "9111000060003734", "91110000600037341LL", "91110000600037341I", "91110000600037341O",
    "9111000060003734SL", "91110000-60003734", "统一社会信用代码",
])
def test_malformed_uscc(code):
    assert not is_valid_uscc(code)


@pytest.mark.parametrize(("s", "valid"), [
    ("11010519491231002X", True),
    ("11010519491231002x", True),
    ("110105194912310021", False),  # wrong check digit
    ("11010519491331002X", False),  # month 13
    ("11010518001231002X", False),  # before 1900
    ("1101051949123100", False),
    ("", False),
    (None, False),
])
def test_id_card(s, valid):
    assert is_valid_id_card(s) is valid


@pytest.mark.parametrize(("s", "expected"), [
    ("11010519491231002X", "id_card"),
    ("11010519491231002X00", "id_20"),
    ("11010519491231002X01", "id_20"),
    ("110105491231002" + "00000", "id_20"),
    ("110105194912310021" + "00", "unknown"),  # ID part fails its check
    ("11010519491231002XAB", "unknown"),
    ("110105491231002", "old_15"),  # old 15-digit 身份证
    ("440301192381421", "old_15"),  # 行政区划 + 组织机构代码
    ("44030119238142X", "old_15"),
    ("4403011923814", "unknown"),
    ("12345678901234567", "unknown"),  # 17 chars: only historical, unconfirmed
    ("91110000600037341I", "unknown"),  # I is outside the USCC alphabet
    ("", "unknown"),
    (None, "unknown"),
    ("个人", "unknown"),
])
def test_classify_tax_id(s, expected):
    assert classify_tax_id(s) == expected


# ---------------------------------------------------------------- real public documents (skipped when absent)
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
REAL_IDS = sorted({
    f[key]
    for p in (REAL.glob("**/*.truth.json") if REAL.is_dir() else [])
    for f in [json.loads(p.read_text(encoding="utf-8")).get("fields", {})]
    for key in ("seller_tax_id", "buyer_tax_id") if f.get(key)
})


@pytest.mark.real_data
@pytest.mark.skipif(not REAL_IDS, reason="../shared/data/real is absent")
@pytest.mark.parametrize("tax_id", REAL_IDS)
def test_real_tax_ids(tax_id):
    expected = "uscc_bad_checksum" if tax_id in INVALID_USCC else "uscc"
    assert classify_tax_id(tax_id) == expected
