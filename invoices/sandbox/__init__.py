"""Faithful stand-ins for the vendor APIs, for the demo (`make run`) and the tests."""

from .app import SandboxApp, SandboxServer
from .core import Fault, Faults, SandboxConfig

__all__ = ["Fault", "Faults", "SandboxApp", "SandboxConfig", "SandboxServer"]
