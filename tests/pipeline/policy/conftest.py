"""Fixtures for the policy tests: the shipped demo policy and org, invoice builders and a one-call checker."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest
import yaml

from pipeline.policy import (
    ClaimInput, ClaimLine, check_claim, evaluate_claim, load_org, load_policy, policy_from_dict,
)

REPO = Path(__file__).resolve().parents[3]
POLICY_PATH = REPO / "samples" / "policy" / "policy.yaml"
ORG_PATH = REPO / "samples" / "org" / "company.yaml"


@pytest.fixture(scope="session")
def policy():
    return load_policy(POLICY_PATH)


@pytest.fixture(scope="session")
def org():
    return load_org(ORG_PATH)


@pytest.fixture
def policy_data():
    """The demo policy as a fresh dict, to change and load with ``policy_from_dict``."""
    with open(POLICY_PATH, encoding="utf-8") as fh:
        return copy.deepcopy(yaml.safe_load(fh))


@pytest.fixture
def policy_with(policy_data):
    def build(**sections):
        data = copy.deepcopy(policy_data)
        for key, value in sections.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return policy_from_dict(data)
    return build


@pytest.fixture
def check(policy, org):
    """``check(lines, employee="E001", trip=None, ...) -> list[Finding]``; lines: Invoice or ClaimLine."""
    def run(lines, employee="E001", trip=None, submitted_on=date(2026, 3, 10), history=None, project=None,
            claim_no=None, using=None, evaluate=False, budgets=None):
        lines = [ln if isinstance(ln, ClaimLine) else ClaimLine(ln) for ln in lines]
        emp = org.employee(employee) if isinstance(employee, str) else employee
        claim = ClaimInput(emp, lines, submitted_on, trip=trip, project=project, claim_no=claim_no)
        if evaluate:
            return evaluate_claim(claim, using or policy, org.company, history, budgets)
        return check_claim(claim, using or policy, org.company, history)
    return run
