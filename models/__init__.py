"""Cost attribution: which expense category (费用科目, ``models/taxonomy.yaml``) an invoice belongs to.

Public entry points: ``models.category.load_model()`` -> ``CategoryModel.classify(...)`` / ``classify_batch(...)``;
``models.taxonomy.load_taxonomy()`` for names and account codes; ``python -m models.train`` (``make train``) to
rebuild the shipped artefact in ``models/artefacts`` from ``samples/training`` (+ ``../shared`` when present);
``models.registry.retrain(examples)`` to learn from finance corrections (``models.corrections``) into the runtime
store (``var/models``) behind a quality gate, with ``promote``/``rollback``.
"""
