"""`python -m models.train` is deterministic and writes artefact, metrics, card and CURRENT."""

import json

import pytest

from models.category import load_model
from models.train import main


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    outs = []
    for name in ("a", "b"):
        out = tmp_path_factory.mktemp(name)
        (out / "category-cat-19990101-deadbeef.joblib").write_bytes(b"stale")
        assert main(["--no-shared", "--scale", "0.05", "--out", str(out), "--card", str(out / "CARD.md"),
                     "--quiet"]) == 0
        outs.append(out)
    return outs


def test_two_runs_give_the_same_version_metrics_and_card(two_runs):
    a, b = two_runs
    assert (a / "CURRENT").read_text() == (b / "CURRENT").read_text()
    name = (a / "CURRENT").read_text().strip()
    metrics_a = json.loads((a / name.replace(".joblib", ".metrics.json")).read_text())
    metrics_b = json.loads((b / name.replace(".joblib", ".metrics.json")).read_text())
    assert metrics_a == metrics_b
    assert (a / "CARD.md").read_text() == (b / "CARD.md").read_text()


def test_outputs_and_stale_artefacts_removed(two_runs):
    out = two_runs[0]
    name = (out / "CURRENT").read_text().strip()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["CARD.md", "CURRENT", name, name.replace(".joblib", ".metrics.json")])
    metrics = json.loads((out / name.replace(".joblib", ".metrics.json")).read_text())
    for key in ("system", "model_alone"):
        e = metrics["eval"][key]
        assert set(e) >= {"macro_f1", "per_class_f1", "answered_accuracy", "abstention_rate", "ece"}
        assert 0.0 <= e["macro_f1"] <= 1.0
    card = (out / "CARD.md").read_text()
    assert metrics["data_hash"] in card and metrics["model_version"] in card
    model = load_model(out / name)
    assert model.model_version == metrics["model_version"]
    assert model.classify("北京XX餐饮管理有限公司", ["*餐饮服务*餐费"]).category == "entertainment"
