"""The plugin contract: the markers plugins use and the hookspecs they implement.

Plugin authors write ``from crmkit import hookimpl``; the specs live in :mod:`crmkit.hooks.specs`
and are documented hook by hook in ``docs/hooks.md``.
"""
import pluggy

PROJECT = "crmkit"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["PROJECT", "hookimpl", "hookspec"]
