"""The import graph keeps its layers: physics (``fem``, ``meshes``) never imports the study
runner, post-processing or Slurm (``../shared/STYLE.md``, "Physics does not import the
runner"); DOLFINx is usable without any study tool, and so are our solvers."""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: package -> packages it must not import
FORBIDDEN = {"fem": ("studies", "postprocess", "hpc.slurm", "hpc.benchmarks"),
             "meshes": ("fem", "studies", "postprocess", "hpc.slurm", "hpc.benchmarks")}


def _imports(path: pathlib.Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_physics_does_not_import_the_runner(package):
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, name in _imports(path):
            # a package's thin CLI may draw its pictures with postprocess
            allowed = ("postprocess",) if path.name == "cli.py" else ()
            if any((name == f or name.startswith(f + ".")) and f not in allowed
                   for f in FORBIDDEN[package]):
                bad.append(f"{path.relative_to(ROOT)}:{line}: imports {name}")
    assert not bad, "\n".join(bad)


def test_the_check_fails_on_a_forbidden_import(tmp_path):
    """The scan sees imports inside functions too (the check can fail)."""
    f = tmp_path / "m.py"
    f.write_text("def g():\n    from studies.kinds import register_kind\n")
    assert (2, "studies.kinds") in _imports(f)
