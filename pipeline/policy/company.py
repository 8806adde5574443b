"""The company master data the rules compare invoices against."""

from __future__ import annotations

from dataclasses import dataclass

_BRACKETS = str.maketrans({"（": "(", "）": ")", " ": "", "\u3000": ""})


def normalize_name(name: str | None) -> str:
    """Company names compare equal regardless of full/half-width brackets and spaces (DOMAIN §6.3 R5)."""
    return (name or "").translate(_BRACKETS).strip()


@dataclass(frozen=True)
class CompanyInfo:
    legal_name: str
    tax_id: str

    def is_our_name(self, name: str | None) -> bool:
        return normalize_name(name) == normalize_name(self.legal_name)

    def is_our_tax_id(self, tax_id: str | None) -> bool:
        return (tax_id or "").strip().upper() == self.tax_id.upper()
