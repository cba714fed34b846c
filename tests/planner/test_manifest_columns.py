"""A manifest's error points at the field's column, not only its line: inside a flow
mapping (``cpu: {cores: 8, threads: 16}``) or an XML element with several attributes
the line alone does not say which key."""

from __future__ import annotations

import os

import pytest

from cosynth.planner import ManifestError, load_manifest
from tests.helpers import ROOT

MANIFESTS = os.path.join(ROOT, "manifests")


@pytest.mark.parametrize("ext, old, new, where, caret", [
    ("yaml", "clock: 3.0 GHz}", "clock: 3.0 GHz, threads: 16}", "6:37", "threads: 16}"),
    ("yaml", "cost: 0.80", "cots: 0.80", "9:5", "cots: 0.80"),
    ("yaml", "cores: 8", "cores: -8", "6:11", "cores: -8"),
    ("xml", '<cost per-hour', '<cots per-hour', "8:5", "<cots"),
    ("xml", 'per-hour=', 'per-hr=', "8:11", "per-hr="),
    ("xml", 'cores="8"', 'cores="8" threads="16"', "5:20", "threads="),
])
def test_errors_name_the_column_of_the_field(tmp_path, ext, old, new, where, caret):
    """YAML from the parser's marks; XML (lxml gives lines) from the line's text."""
    path = tmp_path / f"m.{ext}"
    text = open(os.path.join(MANIFESTS, f"pair.{ext}")).read()
    assert old in text
    path.write_text(text.replace(old, new))
    with pytest.raises(ManifestError) as info:
        load_manifest(str(path))
    err = info.value
    assert str(err.loc) == f"{path}:{where}", err.format()
    src, mark = err.format().splitlines()[1:3]  # the source line, and the caret under it
    assert src[mark.index("^"):].startswith(caret), err.format()
