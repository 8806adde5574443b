"""The numpy predictor reproduces scikit-learn's calibrated probabilities."""

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import LinearSVC

from models.dataset import build_dataset
from models.features import Featurizer, Line
from models.linear import CalibratedLinear
from models.sources import load_sources


def test_matches_calibrated_classifier_cv():
    ds = build_dataset(load_sources(None), scale=0.05)

    def lines(rows):
        return [Line(r.seller_name, r.items, r.kind, r.amount) for r in rows]

    train, held_out = ds.split("train"), ds.split("eval")
    featurizer = Featurizer().fit(lines(train))
    calibrated = CalibratedClassifierCV(LinearSVC(C=0.5, random_state=0), method="sigmoid", cv=3, ensemble=False)
    calibrated.fit(featurizer.transform(lines(train)), [r.label for r in train])
    x = featurizer.transform(lines(held_out))
    ours = CalibratedLinear.from_sklearn(calibrated)
    assert list(ours.classes_) == list(calibrated.classes_)
    assert np.abs(ours.predict_proba(x) - calibrated.predict_proba(x)).max() < 1e-5
    assert (ours.predict_proba(x).argmax(axis=1) == calibrated.predict_proba(x).argmax(axis=1)).all()
