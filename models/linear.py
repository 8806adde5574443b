"""A Platt-calibrated one-vs-rest linear classifier in plain numpy.

Contract: ``CalibratedLinear.from_sklearn(c)`` takes a fitted ``CalibratedClassifierCV(LinearSVC(...),
method="sigmoid", ensemble=False)`` and keeps only its weights (float32) and sigmoid parameters;
``predict_proba(X)`` then reproduces scikit-learn's probabilities (per class ``expit(-(a*d + b))`` on the decision
value ``d``, normalised per row, uniform when all are zero) to float32 precision, without scikit-learn's
per-call validation overhead. ``classes_`` lists the class labels in column order.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit


class CalibratedLinear:
    def __init__(self, classes: np.ndarray, coef: np.ndarray, intercept: np.ndarray, a: np.ndarray, b: np.ndarray):
        self.classes_ = np.asarray(classes)
        self.coef_t = np.ascontiguousarray(coef.T, dtype=np.float32)  # (n_features, n_classes)
        self.intercept = intercept.astype(np.float32)
        self.a = a.astype(np.float64)
        self.b = b.astype(np.float64)

    @classmethod
    def from_sklearn(cls, calibrated) -> CalibratedLinear:
        if len(calibrated.calibrated_classifiers_) != 1:
            raise ValueError("expected CalibratedClassifierCV(ensemble=False): one calibrated classifier")
        cc = calibrated.calibrated_classifiers_[0]
        if cc.method != "sigmoid" or len(calibrated.classes_) < 3:
            raise ValueError("only sigmoid calibration of a multi-class classifier is supported")
        if list(cc.estimator.classes_) != list(calibrated.classes_):
            raise ValueError("estimator and calibrator class orders differ")
        a = np.array([c.a_ for c in cc.calibrators], dtype=np.float64)
        b = np.array([c.b_ for c in cc.calibrators], dtype=np.float64)
        return cls(calibrated.classes_, cc.estimator.coef_, cc.estimator.intercept_, a, b)

    def decision_function(self, X) -> np.ndarray:
        return np.asarray(X @ self.coef_t, dtype=np.float64) + self.intercept

    def predict_proba(self, X) -> np.ndarray:
        proba = expit(-(self.a * self.decision_function(X) + self.b))
        total = proba.sum(axis=1, keepdims=True)
        uniform = np.full_like(proba, 1.0 / proba.shape[1])
        return np.divide(proba, total, out=uniform, where=total != 0)
