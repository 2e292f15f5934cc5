"""Run the simulator tests without Odoo.

pytest imports the ``__init__.py`` of every package on the way to a test module, and the addon's
root package needs a running Odoo. These tests only need the simulator (``tools/simulator``): the
repository root and ``tools/`` are collected as plain directories, and the repository root is put
on ``sys.path``, so that the tests import ``tools.compago_simulator`` as the dev scripts do.
"""

import sys
from pathlib import Path

import pytest

TOOLS_DIR = Path(__file__).resolve().parents[1]
ADDON_PACKAGES = {TOOLS_DIR, TOOLS_DIR.parent}

sys.path.insert(0, str(TOOLS_DIR.parent))


class _AddonPackagesAsDirectories:
    @staticmethod
    @pytest.hookimpl(tryfirst=True)
    def pytest_collect_directory(path, parent):
        if path.resolve() in ADDON_PACKAGES:
            return pytest.Dir.from_parent(parent, path=path)
        return None


def pytest_configure(config):
    # Registered as a plugin, not left as a conftest hook: conftest hooks only apply below
    # their own directory, and the packages to skip are above it.
    config.pluginmanager.register(_AddonPackagesAsDirectories())
