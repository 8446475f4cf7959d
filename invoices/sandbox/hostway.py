"""PLACEHOLDER: the hostway stand-in is being written; replaced in the same change."""

from __future__ import annotations

from .core import VendorSandbox


class HostwaySandbox(VendorSandbox):
    def rules(self):  # type: ignore[override]
        return []
