"""Case ids: the same parameters give the same id in any process; any change changes it."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import pytest

from studies.caseid import canonical_json, case_id

ROOT = Path(__file__).resolve().parent.parent
PARAMS = {"solve": ["selftest"],
          "params": {"balloon": {"pressure_atm": 6.0}, "needle": {"gauge": 18},
                     "calcification": {"grade": "pacss-3"}, "flags": [1, 2]}}


def test_same_id_across_processes():
    script = ("import hpc.stack, json, sys\n"
              "from studies.study import load_study\n"
              "print(json.dumps([c.case_id for c in load_study(sys.argv[1]).cases]))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "123"}
    ids = [json.loads(subprocess.run([sys.executable, "-c", script, str(path)],
                                     capture_output=True, text=True, env=env, check=True).stdout)
           for path in (ROOT / "studies" / "production.toml",) * 2]
    # Compared between fresh processes: inside this test session other tests register extra
    # schema sections (test kinds) whose defaults are part of the resolved parameters.
    assert ids[0] == ids[1]
    assert len(set(ids[0])) == len(ids[0]) == 142


def test_known_value_is_stable():
    # Pinned: a change of the canonical form would silently orphan every stored result.
    assert canonical_json({"b": 1.0, "a": [0.1 + 0.2, -0.0, True, None]}) == \
        '{"a":[0.3,0.0,true,null],"b":1.0}'
    assert case_id(PARAMS) == case_id(json.loads(json.dumps(PARAMS)))
    assert len(case_id(PARAMS)) == 16


def test_key_order_and_float_noise_do_not_matter():
    reordered = {"params": dict(reversed(list(PARAMS["params"].items()))),
                 "solve": ["selftest"]}
    assert case_id(reordered) == case_id(PARAMS)
    noisy = copy.deepcopy(PARAMS)
    noisy["params"]["balloon"]["pressure_atm"] = 0.1 * 60 + 1e-15
    assert case_id(noisy) == case_id(PARAMS)


def _leaves(d, path=()):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _leaves(v, (*path, k))
        else:
            yield (*path, k), v


@pytest.mark.parametrize("path", [p for p, _ in _leaves(PARAMS)])
def test_any_change_changes_the_id(path):
    base = case_id(PARAMS)
    for new in ({"x": 1}, "other", 6.000001, 19, [1, 3], 6):
        changed = copy.deepcopy(PARAMS)
        node = changed
        for k in path[:-1]:
            node = node[k]
        if node[path[-1]] == new:
            continue
        node[path[-1]] = new
        assert case_id(changed) != base, (path, new)
    # an added key changes it too
    added = copy.deepcopy(PARAMS)
    added["params"]["balloon"]["film_um"] = 25.0
    assert case_id(added) != base


def test_int_and_float_differ_and_nan_is_rejected():
    a = {"x": 1}
    b = {"x": 1.0}
    assert case_id(a) != case_id(b)
    with pytest.raises(ValueError, match="not finite"):
        case_id({"x": float("nan")})


def test_sweep_ids_are_the_ids_of_the_full_parameters():
    # CaseIds writes the base once and splices each case's axis values in: the same ids.
    import random

    from studies.caseid import CaseIds

    base = {"balloon": {"pressure_atm": 6.0, "film": {"um": 25.0}}, "needle": {"gauge": 18},
            "calcification": {"grade": "pacss-3"}, "flags": [1, 2], "z": None, "b": True}
    paths = ["balloon.pressure_atm", "balloon.film.um", "needle.gauge", "flags",
             "calcification.grade", "b"]
    ids = CaseIds(["selftest", "puncture"], base, paths)
    rng = random.Random(4)
    values = {"balloon.pressure_atm": [0.1 + 0.2, 6, 6.0, -0.0, 1e-300, 2.5],
              "balloon.film.um": [25.0, 30.5], "needle.gauge": [18, 20, 22.0],
              "flags": [[1, 2], [3], [], [0.5, "x"]], "calcification.grade": ["pacss-0", "é"],
              "b": [True, False, 1]}
    for _ in range(300):
        axes = {p: rng.choice(values[p]) for p in rng.sample(paths, rng.randint(0, len(paths)))}
        params = copy.deepcopy(base)
        for path, value in axes.items():
            node = params
            *head, last = path.split(".")
            for k in head:
                node = node[k]
            node[last] = value
        assert ids(axes) == case_id({"solve": ["selftest", "puncture"], "params": params}), axes
    # no axes (the base case alone)
    assert CaseIds(["s"], base, [])({}) == case_id({"solve": ["s"], "params": base})
    # an axis that is no leaf of the base: the slow way, same answer
    odd = CaseIds(["s"], base, ["balloon.new_key"])
    params = copy.deepcopy(base)
    params["balloon"]["new_key"] = 3.0
    assert odd({"balloon.new_key": 3.0}) == case_id({"solve": ["s"], "params": params})
