"""Faithful stand-ins for the vendor APIs, for the demo (`make run`) and the tests."""

from .core import Fault, Faults, SandboxApp, SandboxConfig, SandboxServer

__all__ = ["Fault", "Faults", "SandboxApp", "SandboxConfig", "SandboxServer"]
