"""The usage shown in the SDK's docstrings is true."""

import doctest
import importlib
import pkgutil

import pytest

import backupjobs.sdk

MODULES = [
    importlib.import_module(f"backupjobs.sdk.{info.name}")
    for info in pkgutil.iter_modules(backupjobs.sdk.__path__)
]


@pytest.mark.parametrize("module", [backupjobs.sdk, *MODULES], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0


def test_the_examples_are_there():
    tried = sum(doctest.testmod(module).attempted for module in MODULES)
    assert tried >= 15
