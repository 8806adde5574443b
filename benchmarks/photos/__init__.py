"""Synthetic phone photos of Chinese invoices, with truth, for benchmarking the image reader.

``python -m benchmarks.photos.generate`` writes them (see ``generate``); ``python -m benchmarks.photos.measure``
measures QR decoding, OCR and time per stage on them and on the real images. Modules: ``invoice_data`` (random
valid contents), ``render`` (the flat invoice), ``degrade`` (the phone-photo look).
"""
