"""Errors the pipeline raises for bad input. Each carries a message fit to show the user.

The API maps these to HTTP status codes in one place (``api.errors``); the CLI prints the message.
"""


class PipelineError(Exception):
    """Base class: something about the input prevents processing it."""

    code = "pipeline_error"


class UnsupportedDocument(PipelineError):
    code = "unsupported_document"


class CorruptDocument(PipelineError):
    code = "corrupt_document"


class DocumentTooLarge(PipelineError):
    code = "document_too_large"


class UnreadableImage(PipelineError):
    """The photo cannot be read well enough (blurred, too small, not an invoice)."""

    code = "unreadable_image"


class BackendUnavailable(PipelineError):
    """A configured backend (OCR engine, model) is missing or not installed."""

    code = "backend_unavailable"
