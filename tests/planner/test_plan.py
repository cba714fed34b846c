"""A plan carries its programs: it saves, reloads equal, and builds without the source."""

from __future__ import annotations

import os
import shutil

import pytest

import cosynth as cs
from cosynth.backends.rtl.costs import fpga_profile
from cosynth.loader import resolve_kernel
from cosynth.pipeline import build, build_from_plan
from cosynth.planner import PlanError, load_manifest, load_plan, make_plan
from cosynth.planner.stubs import blade_program
from cosynth.resources import manifest_path

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def _copy_kernel(tmp_path, name: str):
    src = tmp_path / "src" / f"{name}.py"
    src.parent.mkdir()
    shutil.copy(os.path.join(EXAMPLES, f"{name}.py"), src)
    return src, resolve_kernel(f"{src}:{name}")


@pytest.mark.parametrize("ext", ["yaml", "json"])
def test_saved_plan_reloads_with_its_programs(tmp_path, ext):
    src, kf = _copy_kernel(tmp_path, "sssp")
    g = cs.Graph.kronecker(7, seed=1)
    plan = make_plan(kf, load_manifest(manifest_path("pair.yaml")), g, {"source": 0},
                     fpga=fpga_profile)
    assert plan.program == blade_program(kf.ir, plan.variant)
    assert plan.variant_ir is not None and plan.source_sha256 and plan.ir_sha256
    path = str(tmp_path / f"plan.{ext}")
    plan.save(path)
    back = load_plan(path)
    assert back == plan
    assert back.program == plan.program and back.variant_ir == plan.variant_ir
    text = open(path).read()
    assert "kernel sssp(" in text


def test_build_from_reloaded_plan_without_source_gives_same_cpp(tmp_path):
    src, kf = _copy_kernel(tmp_path, "bfs")
    g = cs.Graph.kronecker(7, seed=2)
    man = load_manifest(manifest_path("pair.yaml"))
    plan, bundle = build(kf, man, g, {"source": 1}, str(tmp_path / "fresh"))
    saved = str(tmp_path / "plan.yaml")
    plan.save(saved)
    os.remove(src)
    again = build_from_plan(load_plan(saved), g, str(tmp_path / "again"))
    assert again.source == bundle.source
    for name in ("blade.cpp", "run.cfg"):
        assert (tmp_path / "again" / name).read_text() == (tmp_path / "fresh" / name).read_text()
    assert load_plan(str(tmp_path / "again" / "plan.yaml")) == plan


def test_changed_source_is_refused(tmp_path):
    src, kf = _copy_kernel(tmp_path, "cc")
    g = cs.Graph.kronecker(6, seed=3)
    plan = make_plan(kf, load_manifest(manifest_path("pair.yaml")), g, fpga=fpga_profile)
    saved = str(tmp_path / "plan.yaml")
    plan.save(saved)
    build_from_plan(load_plan(saved), g, str(tmp_path / "same"))  # unchanged: builds
    src.write_text(src.read_text() + "\n# edited\n")
    with pytest.raises(PlanError, match="changed since this plan was made") as exc:
        build_from_plan(load_plan(saved), g, str(tmp_path / "out"))
    assert str(src) in str(exc.value) and "re-plan" in str(exc.value)
    assert not (tmp_path / "out").exists()


def test_wrong_graph_and_programless_plan_are_refused(tmp_path):
    _, kf = _copy_kernel(tmp_path, "cc")
    g = cs.Graph.kronecker(6, seed=3)
    plan = make_plan(kf, load_manifest(manifest_path("pair.yaml")), g, fpga=fpga_profile)
    with pytest.raises(cs.CosynthError, match="the plan was made for"):
        build_from_plan(plan, cs.Graph.kronecker(5, seed=3), str(tmp_path / "o"))
    plan.program = None
    with pytest.raises(PlanError, match="carries no blade program"):
        build_from_plan(plan, g, str(tmp_path / "o"))


def test_plan_with_unparsable_program_is_a_plan_error(tmp_path):
    _, kf = _copy_kernel(tmp_path, "cc")
    g = cs.Graph.kronecker(6, seed=3)
    plan = make_plan(kf, load_manifest(manifest_path("pair.yaml")), g, fpga=fpga_profile)
    path = tmp_path / "plan.yaml"
    plan.save(str(path))
    path.write_text(path.read_text().replace("kernel cc(", "kernel cc(("))
    with pytest.raises(PlanError, match="does not parse"):
        load_plan(str(path))


def test_cli_builds_a_saved_plan(tmp_path):
    from click.testing import CliRunner

    from cosynth.cli import cli
    src, _ = _copy_kernel(tmp_path, "bfs")
    plan_file = str(tmp_path / "p.yaml")
    r = CliRunner().invoke(cli, ["plan", f"{src}:bfs", "--manifest", manifest_path("pair.yaml"),
                                 "--graph", "kron:6", "--arg", "source=0", "-o", plan_file])
    assert r.exit_code == 0, r.output
    os.remove(src)
    r = CliRunner().invoke(cli, ["build", "--plan", plan_file, "--graph", "kron:6",
                                 "-o", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "blade.cpp").is_file()
    r = CliRunner().invoke(cli, ["build", "--graph", "kron:6", "-o", str(tmp_path / "x")])
    assert r.exit_code != 0 and "--plan" in r.output
