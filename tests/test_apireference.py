"""booktools.apireference: which modules the library reference lists, and where a literal
that names a library object links (the built site is checked in test_site.py)."""

from __future__ import annotations

import sys

import pytest

from booktools.apireference import package_modules, source_target


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package ``toypkg`` with a subpackage, a private module and a script."""
    root = tmp_path / "toypkg"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("from toypkg.core import fit\n")
    (root / "core.py").write_text("def fit():\n    pass\n\n\nclass Law:\n"
                                  "    def predict(self):\n        pass\n\n\nLIMIT = 3\n")
    (root / "_private.py").write_text("")
    (root / "__main__.py").write_text("raise SystemExit('a script must not be imported')\n")
    (root / "sub" / "__init__.py").write_text("")
    (root / "sub" / "tools.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "toypkg"
    for name in [name for name in sys.modules if name.split(".")[0] == "toypkg"]:
        del sys.modules[name]


def test_the_reference_lists_every_public_module_by_walking_the_package(package):
    assert package_modules(package) == ["toypkg", "toypkg.core", "toypkg.sub",
                                        "toypkg.sub.tools"]


def test_the_reference_of_something_not_a_package_is_an_error(package):
    with pytest.raises(ValueError, match="cannot import"):
        package_modules("toypkg_missing")
    with pytest.raises(ValueError, match="is a module, not a package"):
        package_modules("toypkg.core")


def test_a_literal_links_to_the_documented_object_or_its_definition(package):
    # viewcode's record: module -> (code, tags, objects given an anchor, refname)
    documented = {"toypkg.core": ("", {}, {"fit": "api", "Law": "api", "Law.predict": "api"},
                                  "toypkg.core"),
                  "toypkg": False}
    assert source_target(documented, "toypkg.core.fit") == ("toypkg.core", "fit")
    assert source_target(documented, "toypkg.core.Law.predict") == ("toypkg.core",
                                                                     "Law.predict")
    assert source_target(documented, "toypkg.core") == ("toypkg.core", "")
    # re-exported by the package: the link goes where the function is defined
    assert source_target(documented, "toypkg.fit") == ("toypkg.core", "fit")
    # a constant has no anchor; unknown names, private names and scripts link nowhere
    assert source_target(documented, "toypkg.core.LIMIT") is None
    assert source_target(documented, "toypkg.core.nothing") is None
    assert source_target(documented, "toypkg._private") is None
    assert source_target(documented, "toypkg.__main__") is None
