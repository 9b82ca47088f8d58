"""booktools.bibtexplugins: the citations' plugins come from the runtime stores, unchanged."""

import pybtex.plugin
import pytest
import sphinxcontrib.bibtex.plugin

from booktools.bibtexplugins import REFERENCING_GROUP, register_once


def test_registered_plugins_are_found_without_scanning_entry_points(monkeypatch):
    backend = pybtex.plugin.find_plugin("pybtex.backends", "plaintext")
    formatting = pybtex.plugin.find_plugin("pybtex.style.formatting", "plain")
    referencing = sphinxcontrib.bibtex.plugin.find_plugin(REFERENCING_GROUP, "author_year")

    register_once([("pybtex.backends", "plaintext"), ("pybtex.style.formatting", "plain")],
                  ["author_year"])

    def no_scan(*args, **kwargs):
        raise AssertionError("a registered plugin was looked up among the entry points")

    monkeypatch.setattr(pybtex.plugin, "entry_points", no_scan)
    monkeypatch.setattr(sphinxcontrib.bibtex.plugin, "_entry_points", no_scan)
    assert pybtex.plugin.find_plugin("pybtex.backends", "plaintext") is backend
    assert pybtex.plugin.find_plugin("pybtex.style.formatting", "plain") is formatting
    assert sphinxcontrib.bibtex.plugin.find_plugin(REFERENCING_GROUP, "author_year") is referencing
    with pytest.raises(AssertionError, match="entry points"):
        pybtex.plugin.find_plugin("pybtex.backends", "latex")
