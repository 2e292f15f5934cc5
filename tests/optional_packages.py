"""Test-only Python packages (tools/requirements-dev.txt), imported by the tests alone: the module
itself needs nothing beyond Odoo's requirements.

When one is missing, the test modules still import (so the other tests run), and each test that
needs it is skipped with a message saying what to install. ``make test`` fails on a skipped test,
as it should there: its venv installs them.
"""

import unittest

try:
    from hypothesis import HealthCheck, example, given, settings, strategies as st
except ImportError as error:
    HYPOTHESIS_MISSING = (
        f"hypothesis is not installed ({error}): it is a test-only package, "
        "pip install -r tools/requirements-dev.txt"
    )

    class _NoStrategy:
        """Stands for hypothesis' strategies and health checks: builds nothing."""

        def __getattr__(self, name):
            return self

        def __call__(self, *args, **kwargs):
            return self

        def __or__(self, other):
            return self

    def _skipped_without_hypothesis(*args, **kwargs):
        return unittest.skip(HYPOTHESIS_MISSING)

    st = HealthCheck = _NoStrategy()
    given = settings = example = _skipped_without_hypothesis

__all__ = ["HealthCheck", "example", "given", "settings", "st"]
