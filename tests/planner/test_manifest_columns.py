"""A YAML manifest's error points at the field's column, not only its line: inside a flow
mapping (``cpu: {cores: 8, threads: 16}``) the line alone does not say which key."""

from __future__ import annotations

import os

import pytest

from cosynth.planner import ManifestError, load_manifest
from tests.helpers import ROOT

PAIR = os.path.join(ROOT, "manifests", "pair.yaml")


@pytest.mark.parametrize("old, new, where, caret", [
    ("clock: 3.0 GHz}", "clock: 3.0 GHz, threads: 16}", "6:37", "threads: 16}"),
    ("cost: 0.80", "cots: 0.80", "9:5", "cots: 0.80"),
    ("cores: 8", "cores: -8", "6:11", "cores: -8"),
])
def test_yaml_errors_name_the_column_of_the_field(tmp_path, old, new, where, caret):
    path = tmp_path / "m.yaml"
    text = open(PAIR).read()
    assert old in text
    path.write_text(text.replace(old, new))
    with pytest.raises(ManifestError) as info:
        load_manifest(str(path))
    err = info.value
    assert str(err.loc) == f"{path}:{where}", err.format()
    src, mark = err.format().splitlines()[1:3]  # the source line, and the caret under it
    assert src[mark.index("^"):].startswith(caret), err.format()
