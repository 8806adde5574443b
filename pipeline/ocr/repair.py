"""Text a check can verify, re-read from the recogniser's own second choices when the check says it is wrong.

A blurred 统一社会信用代码 is often misread in one to three characters (8/B, 5/3, 0/8, X/W), a blurred date in one
digit (2017年40月04日); the recogniser's per-timestep probabilities usually still rank the printed character second.
A USCC carries two independent check characters (GB 32100 mod 31 and the GB 11714 mod 11 of its 组织机构代码), so a
random wrong variant passes both about once in 341 tries; a date with an impossible month or day has few valid
neighbours. Few enough to search the likely variants and trust the best one, if it clearly beats the rest.

Contract: ``repair_line(text, probs, class_map)`` takes one recognised line, the recogniser's softmax output for it
(``probs``: timesteps x classes, CTC with the blank at column 0) and a ``ClassMap`` of the class characters, and
returns ``None`` or a ``Repair`` whose ``text`` is ``text`` with one token replaced:
* a 17–19 character ID-looking token that fails the USCC checks, is no valid 居民身份证号, and stands alone on its
  line or after an ID label (bank accounts share the shape), by the valid USCC the probabilities favour most: the
  reading with at most ``MAX_CHANGES`` characters substituted (by alternatives of probability >= ``MIN_P`` where
  that character was read; digits only in positions 3–8), and for a 17 or 19 character token one character
  inserted or dropped (with at most ``MAX_CHANGES - 2`` substitutions);
* a ``YYYY年MM月DD日`` date that is no calendar date, by the valid date one digit away.
Each valid variant is scored by the exact CTC probability of the token's timesteps (forward algorithm) and ranked
with a prior of ``MIN_ODDS_PER_EDIT`` per edit (of two equally likely variants the nearer one wins). The best is
accepted only if its probability is at least ``MIN_ODDS_PER_EDIT ** edits`` times the greedy reading's (each edit
must be a plausible confusion: on the real images one edit at odds 0.012 was wrong; on generated photos one edit at
0.09 and three at 0.015 were right) and it ranks ``MARGIN`` times above the next valid variant. When that search
finds nothing for an 18 character token, every single substitution by any USCC character is tried (a blurred K or G
can be read A or 6 with the printed letter nowhere among the likely alternatives): the likeliest valid one is taken
if its odds are at least ``SINGLE_MIN_ODDS`` and it is ``MARGIN`` times likelier than the next valid one (a
substitution inside the 组织机构代码 must pass both checks, so few do). Measured: over the 220 generated photos it
was set on, tried 3 times: 2 right (odds 0.057 and 0.0067), 1 declined (4e-7, would have been wrong); on a fresh draw
of 60, tried 4 times: 1 wrong (odds 0.044, a seal's ID two edits away from the printed one; no key field), 3
declined; on the real images tried once, declined. A wrong repair is possible at any odds, hence the low confidence.
``Repair.odds`` (its probability over the greedy reading's, at most 1) is a confidence the caller should pass on.
``needs_repair(text)`` says, without the model, whether a line holds such a token; ``failing_ids(text)`` yields the
ID tokens that would be repaired, ``id_tokens(text)`` all the ID-shaped tokens in an ID's place.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import combinations, product

import numpy as np

from pipeline.taxid import USCC_CHARSET, is_valid_id_card, is_valid_uscc

MAX_CHANGES = 3
MIN_P = 0.01
MIN_ODDS_PER_EDIT = 0.05
MARGIN = 5.0
ALTERNATIVES = 3  # per position, besides the greedy character
SINGLE_MIN_ODDS = 1e-4  # the fallback's floor (see the module's contract)

_LOOK_ALIKES = {"O": "0", "o": "0", "I": "1", "i": "1", "l": "1", "Z": "2", "z": "2", "S": "5", "s": "5",
                "×": "X"}
ID_TOKEN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Za-z]{17,19}(?![0-9A-Za-z])")
_ID_DIGITS_ONLY = range(2, 8)  # positions 3–8: the administrative division code
# an ID candidate's line holds nothing else, or an ID label (garbled labels keep some of these characters)
_ID_CONTEXT = re.compile(r"识别|代码|税号|税人|信用")
_FILLER = re.compile(r"[\s:：;；.,，。·/()（）]")
_DATE_TOKEN = re.compile(r"(?<!\d)(\d{4})年(\d{1,2})月(\d{1,2})日")


@dataclass(frozen=True)
class Repair:
    text: str
    token: str  # as read
    value: str  # what it was repaired to
    odds: float


def uscc_class(char: str) -> int | None:
    """Index of ``char`` in ``USCC_CHARSET`` after look-alike folding, or ``None``."""
    c = _LOOK_ALIKES.get(char, char.upper() if char.isascii() else char)
    i = USCC_CHARSET.find(c)
    return i if len(c) == 1 and i >= 0 else None


class ClassMap:
    """Folds the recogniser's classes into blank (0), the 31 USCC characters (1–31, digits first) and 'anything
    else' (``other``)."""

    def __init__(self, classes: list[str]) -> None:
        n = len(USCC_CHARSET)
        self.other = n + 1
        target = np.full(len(classes), self.other, dtype=np.int64)
        target[0] = 0
        for k, char in enumerate(classes[1:], start=1):
            i = uscc_class(char)
            if i is not None:
                target[k] = i + 1
        self._fold = np.zeros((len(classes), n + 2), dtype=np.float32)
        self._fold[np.arange(len(classes)), target] = 1.0

    def fold(self, probs: np.ndarray) -> np.ndarray:
        return probs @ self._fold

    def label(self, char: str) -> int:
        i = uscc_class(char)
        return self.other if i is None else i + 1


def _char(label: int) -> str:
    return USCC_CHARSET[label - 1]


def _log_ctc(folded: np.ndarray, labels: list[int]) -> float:
    """log P(labels | folded) by the CTC forward algorithm (labels are folded indices, blank is 0)."""
    ext = np.zeros(2 * len(labels) + 1, dtype=np.int64)
    ext[1::2] = labels
    logp = np.log(np.maximum(folded, 1e-30))
    alpha = np.full(len(ext), -np.inf)
    alpha[0] = logp[0, 0]
    if len(ext) > 1:
        alpha[1] = logp[0, ext[1]]
    skip = np.zeros(len(ext), dtype=bool)
    skip[2:] = (ext[2:] != 0) & (ext[2:] != ext[:-2])
    for t in range(1, len(folded)):
        prev1 = np.concatenate(([-np.inf], alpha[:-1]))
        prev2 = np.where(skip, np.concatenate(([-np.inf, -np.inf], alpha[:-2])), -np.inf)
        alpha = np.logaddexp(np.logaddexp(alpha, prev1), prev2) + logp[t, ext]
    return float(np.logaddexp(alpha[-1], alpha[-2])) if len(ext) > 1 else float(alpha[-1])


def _emissions(best: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) timestep of each character the greedy CTC decoding emits."""
    runs: list[tuple[int, int]] = []
    prev = 0
    for t, k in enumerate(best):
        if k != 0 and k != prev:
            runs.append((t, t))
        elif k != 0 and k == prev:
            runs[-1] = (runs[-1][0], t)
        prev = int(k)
    return runs


def _options(folded: np.ndarray, first: int, last: int, digits: bool = False) -> list[int]:
    """Likely USCC classes (folded indices) over timesteps ``first..last``, best first."""
    window = folded[first:last + 1, 1:-1]
    if not len(window):
        return []
    peak = window.max(axis=0)
    order = [int(i) + 1 for i in np.argsort(-peak) if peak[i] >= MIN_P]
    if digits:
        order = [i for i in order if _char(i).isdigit()]
    return order[:ALTERNATIVES + 1]


def _variants(read: list[list[int]], gaps: list[list[int]], length: int,
              max_changes: int) -> dict[tuple[int, ...], int]:
    """Label sequences of ``length`` near the greedy reading (``read[i][0]`` is character i as read, the rest its
    alternatives; ``gaps[i]`` the characters that may have been lost before character i), with their edit counts."""
    out: dict[tuple[int, ...], int] = {}

    def substituted(seq: list[list[int]], edits: int = 0) -> None:
        flexible = [i for i, opts in enumerate(seq) if len(opts) > 1]
        for n in range(min(max_changes - 2 * edits, len(flexible)) + 1):  # an insertion or drop costs 2
            for where in combinations(flexible, n):
                for picks in product(*(seq[i][1:] for i in where)):
                    labels = [opts[0] for opts in seq]
                    for i, pick in zip(where, picks, strict=True):
                        labels[i] = pick
                    key = tuple(labels)
                    out[key] = min(out.get(key, max_changes + 2), edits + n)

    if len(read) == length:
        substituted(read)
    elif len(read) == length - 1:
        for gap, options in enumerate(gaps):
            for label in options:
                substituted(read[:gap] + [[label]] + read[gap:], 1)
    elif len(read) == length + 1:
        for drop in range(len(read)):
            substituted(read[:drop] + read[drop + 1:], 1)
    return out


def _best(folded: np.ndarray, reading: list[int], variants: dict[tuple[int, ...], int],
          valid: Callable[[tuple[int, ...]], bool],
          min_odds_per_edit: float = MIN_ODDS_PER_EDIT) -> tuple[tuple[int, ...], float] | None:
    """The accepted variant and its odds against the reading, or ``None`` (see the module's contract)."""
    scored = [(_log_ctc(folded, list(labels)), labels, edits) for labels, edits in variants.items() if valid(labels)]
    if not scored:
        return None
    prior = math.log(min_odds_per_edit)
    scored.sort(key=lambda s: s[0] + s[2] * prior, reverse=True)
    best, labels, edits = scored[0]
    odds = best - _log_ctc(folded, reading)
    if odds < edits * prior:
        return None
    if len(scored) > 1 and (best - scored[1][0]) + (edits - scored[1][2]) * prior < math.log(MARGIN):
        return None
    return labels, min(1.0, math.exp(odds))


def _single_substitutions(reading: list[int]) -> dict[tuple[int, ...], int]:
    """Every reading one character away from ``reading`` (any USCC character; digits in positions 3–8), one edit
    each."""
    return {tuple(reading[:pos]) + (label,) + tuple(reading[pos + 1:]): 1
            for pos, head in enumerate(reading) for label in range(1, len(USCC_CHARSET) + 1)
            if label != head and (pos not in _ID_DIGITS_ONLY or _char(label).isdigit())}


def id_tokens(text: str) -> Iterator[re.Match[str]]:
    """The ID-shaped tokens of ``text`` that stand alone on their line or after an ID label."""
    for match in ID_TOKEN.finditer(text):
        rest = _FILLER.sub("", text[:match.start()] + text[match.end():])
        if not rest or _ID_CONTEXT.search(rest):
            yield match


def failing_ids(text: str) -> Iterator[re.Match[str]]:
    """``id_tokens`` that fail the USCC and the ID-card checks (a person's ID number is a tax ID too)."""
    return (m for m in id_tokens(text) if not is_valid_uscc(m.group()) and not is_valid_id_card(m.group()))


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _date_candidates(text: str) -> Iterator[re.Match[str]]:
    for match in _DATE_TOKEN.finditer(text):
        if not _is_date(*(int(g) for g in match.groups())):
            yield match


def needs_repair(text: str) -> bool:
    return any(True for _ in failing_ids(text)) or any(True for _ in _date_candidates(text))


def _window(probs: np.ndarray, runs: list[tuple[int, int]], start: int, end: int, class_map: ClassMap):
    """The folded probabilities from just after character ``start - 1`` to just before character ``end``, and the
    token's runs relative to it."""
    lo = runs[start - 1][1] + 1 if start > 0 else 0
    hi = runs[end][0] - 1 if end < len(runs) else len(probs) - 1
    return class_map.fold(probs[lo:hi + 1]), [(a - lo, b - lo) for a, b in runs[start:end]]


def _repair_id(text: str, match: re.Match[str], probs, runs, class_map: ClassMap) -> Repair | None:
    token, (start, end) = match.group(), match.span()
    folded, token_runs = _window(probs, runs, start, end, class_map)
    read = []
    for pos, (a, b) in enumerate(token_runs):
        head = class_map.label(token[pos])
        read.append([head] + [o for o in _options(folded, a, b, pos in _ID_DIGITS_ONLY) if o != head][:ALTERNATIVES])
    edges = [0] + [b + 1 for _, b in token_runs]
    gap_ends = [a for a, _ in token_runs] + [len(folded)]
    gaps = [_options(folded, s, max(s, e - 1)) for s, e in zip(edges, gap_ends, strict=True)]
    def valid(labels: tuple[int, ...]) -> bool:
        return class_map.other not in labels and is_valid_uscc("".join(map(_char, labels)))

    reading = [r[0] for r in read]
    found = _best(folded, reading, _variants(read, gaps, 18, MAX_CHANGES), valid)
    if found is None and len(reading) == 18:
        found = _best(folded, reading, _single_substitutions(reading), valid, SINGLE_MIN_ODDS)
    if found is None:
        return None
    value = "".join(map(_char, found[0]))
    return Repair(text[:start] + value + text[end:], token, value, found[1])


def _repair_date(text: str, match: re.Match[str], probs, runs, class_map: ClassMap) -> Repair | None:
    token, (start, end) = match.group(), match.span()
    folded, token_runs = _window(probs, runs, start, end, class_map)
    read = []
    for char, (a, b) in zip(token, token_runs, strict=True):
        head = class_map.label(char)
        alternatives = _options(folded, a, b, digits=True) if char.isdigit() else []
        read.append([head] + [o for o in alternatives if o != head][:ALTERNATIVES])

    def spell(labels: tuple[int, ...]) -> str:  # 年 / 月 / 日 stay as read
        return "".join(_char(lab) if lab != class_map.other else token[i] for i, lab in enumerate(labels))

    def valid(labels: tuple[int, ...]) -> bool:
        found = _DATE_TOKEN.fullmatch(spell(labels))
        return found is not None and _is_date(*(int(g) for g in found.groups()))

    found = _best(folded, [r[0] for r in read], _variants(read, [], len(read), 1), valid)
    if found is None:
        return None
    value = spell(found[0])
    return Repair(text[:start] + value + text[end:], token, value, found[1])


def repair_line(text: str, probs: np.ndarray, class_map: ClassMap) -> Repair | None:
    runs = _emissions(probs.argmax(axis=1))
    if len(runs) != len(text):
        return None  # the text is not the plain greedy decoding of these probabilities
    for match in failing_ids(text):
        repair = _repair_id(text, match, probs, runs, class_map)
        if repair is not None:
            return repair
    for match in _date_candidates(text):
        repair = _repair_date(text, match, probs, runs, class_map)
        if repair is not None:
            return repair
    return None
