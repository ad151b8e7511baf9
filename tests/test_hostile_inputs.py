"""Hostile strings through every study field and CLI option that reaches a script or a path.

Each hostile string either is refused with a one-line error naming its key (nothing written), or
goes into the generated Slurm scripts, which then pass ``bash -n`` and are run with stub
``sbatch``/``srun`` (and a stub ``python`` that records its arguments): the stub sees exactly the
paths the study asked for, no injected command ran (its marker file does not exist) and nothing
was written outside the results folder. ``tests/test_slurm.py`` does the same on a real Slurm.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import pytest

import hpc.slurm
from studies.schema import StudyError
from studies.study import load_study, load_study_text
from tests.study_cli import nre

#: ``{M}`` is the marker folder: an injected command would create a file there. "issue-11" is
#: the results_dir of issue 11 (``res/$(touch /tmp/x)/`touch /tmp/y`/z`` as a results_dir).
HOSTILE = {
    "issue-11": "$(touch {M}/x)/`touch {M}/y`",
    "dollar": "$(touch {M}/dollar)",
    "backtick": "`touch {M}/backtick`",
    "semicolon": "x; touch {M}/semicolon",
    "single-quote": "x' ; touch {M}/squote ; '",
    "double-quote": 'x" ; touch {M}/dquote ; "',
    "newline": "x\ntouch {M}/newline",
    "carriage-return": "x\rtouch {M}/cr",
    "nul": "x\x00touch {M}/nul",
    "and-pipe": "x && touch {M}/and | cat",
    "ifs": "${{IFS}}touch${{IFS}}{M}/ifs",
    "parent": "../../escape",
    "absolute": "{OUT}/absolute",
    "unicode": "ünï-cødé ✓ \u202e",
    "percent-hash": "%A %x #comment",
    "option": "-x --output={M}/option",
    "backslash": "x\\",
}

#: Study fields that reach a script (or a path), and where they sit in the file.
FIELDS = ("study.name", "study.results_dir", "study.plugins", "slurm.partition",
          "slurm.account", "slurm.qos", "slurm.time", "slurm.mem", "slurm.extra")

#: Hostile strings a field takes (everything else must be refused): only paths may hold them.
ACCEPTED = {"study.results_dir": {"issue-11", "dollar", "backtick", "semicolon", "single-quote",
                                  "double-quote", "and-pipe", "unicode", "option"}}
#: Paths Slurm cannot take: it reads '%' and '\' as patterns in the log paths (the job's
#: working directory included) and fails the job; submit refuses them.
SLURM_PATTERN = {"percent-hash", "backslash"}
PERCENT = "a results folder with '%' or '\\' cannot hold Slurm jobs"


def _toml(value) -> str:
    """A TOML value holding ``value`` (a string or a list of strings) exactly."""
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _study(**fields) -> str:
    """A one-kind study file; ``fields`` (``study__name="x"``) override the defaults."""
    tables = {"study": {"name": "hostile", "solve": ["selftest"],
                        "results_dir": "results/{name}"},
              "slurm": {"time": "5", "mem": "1G"}}
    for key, value in fields.items():
        section, name = key.rsplit("__", 1)
        tables.setdefault(section.replace("__", "."), {})[name] = value
    lines = []
    for section, table in tables.items():
        lines += [f"[{section}]", *(f"{k} = {_toml(v)}" for k, v in table.items())]
    return "\n".join([*lines, "[sweep.grid]", "selftest.edge_mm = [1.0, 2.0]", ""])


def _study_text(field: str, value: str) -> str:
    """The study with one field (``"slurm.extra"``) set to ``value`` (an item of a list)."""
    from studies.schema import SCHEMA

    is_list = SCHEMA.fields[field].type is list
    return _study(**{field.replace(".", "__"): [value] if is_list else value})


@pytest.fixture
def place(tmp_path):
    """``(root, markers, outside)``: the study's folder, the marker folder, a folder for paths
    outside it; the stubs go to ``root/.stubs`` (on PATH with :func:`_run_submit`)."""
    root = tmp_path / "study dir"
    markers, outside = tmp_path / "markers", tmp_path / "outside"
    for folder in (root, markers, outside):
        folder.mkdir()
    _write_stubs(tmp_path / "stubs")
    return root, markers, outside


def _write_stubs(folder: Path) -> None:
    """Stub ``sbatch`` (runs the script with bash as array task 0), ``srun``/``mpirun``/
    ``scontrol`` (record their arguments) and ``python`` (records argv and two variables)."""
    folder.mkdir()
    log = folder / "calls.jsonl"
    record = (f"#!{sys.executable} -S\nimport json, os, sys\n"
              f"with open({str(log)!r}, 'a') as fh:\n"
              "    fh.write(json.dumps({'prog': os.path.basename(sys.argv[0]), "
              "'argv': sys.argv[1:], 'cwd': os.getcwd(), "
              "'NRE_CACHE_DIR': os.environ.get('NRE_CACHE_DIR'), "
              "'PYTHONPATH': os.environ.get('PYTHONPATH')}) + '\\n')\n")
    sbatch = record + (
        "args = [a for a in sys.argv[1:] if not a.startswith('--')]\n"
        "import subprocess\n"
        "env = dict(os.environ, SLURM_ARRAY_TASK_ID='0', SLURM_ARRAY_JOB_ID='4242',\n"
        "           SLURM_JOB_ID='4243')\n"
        "subprocess.run(['bash', args[-1]], env=env)\n"
        "print('4242')\n")
    for name, text in (("sbatch", sbatch), ("srun", record), ("mpirun", record),
                       ("python", record)):
        path = folder / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _calls(stubs: Path) -> list[dict]:
    log = stubs / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _tree(folder: Path, skip: list[Path]) -> set[str]:
    """Every path under ``folder`` but those in or above (the folders leading to) ``skip``."""
    out = set()
    for path in folder.rglob("*"):
        if not any(path == s or s in path.parents or (path in s.parents and path.is_dir())
                   for s in skip):
            out.add(str(path.relative_to(folder)))
    return out


def _run_submit(sub_folder: Path, stubs: Path, markers: Path | None = None
                ) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}",
           "NRE_MARK": f"{markers or stubs / 'no-markers'}/"}
    env.pop("NRE_CACHE_DIR", None)  # the scripts' default: the study's own cache
    return subprocess.run(["bash", str(sub_folder / "submit.sh")], capture_output=True,
                          text=True, env=env, timeout=120)


def _submit_and_run(monkeypatch, tmp_path, study_file: Path, args: list[str], capsys):
    """``nre slurm submit --dry-run`` with a stub python in the scripts, then ``submit.sh`` with
    the stubs. Returns ``(exit code, stderr, results root or None)``."""
    stubs = tmp_path / "stubs"
    with monkeypatch.context() as m:  # the scripts exec the stub python
        m.setattr(hpc.slurm.sys, "executable", str(stubs / "python"))
        code = nre(["slurm", "submit", study_file, "--dry-run", *args])
    out, err = capsys.readouterr()
    if code != 0:
        return code, err, None
    folder = Path(next(line for line in out.splitlines() if line.startswith("dry run:"))
                  .split("submit with ", 1)[1]).parent
    for script in sorted(folder.glob("*.sbatch")) + [folder / "submit.sh"]:
        check = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert check.returncode == 0, (script, check.stderr)
    proc = _run_submit(folder, stubs, markers=stubs.parent / "markers")
    assert proc.returncode == 0, proc.stderr
    return code, err, folder.parent.parent


def _check_stub_calls(stubs: Path, results: Path) -> None:
    """The stub python saw exactly the results folder the study asked for."""
    calls = [c for c in _calls(stubs) if c["prog"] == "python"]
    sub = max((results / "slurm").glob("sub-*"))
    assert [c["argv"][:3] for c in calls] == [["-m", "studies.worker", "supervise"],
                                              ["-m", "studies.aggregate", str(results)]]
    worker = calls[0]["argv"]
    assert worker[3:] == ["--results", str(results), "--case-list", str(sub / "cases.txt"),
                          "--index", "0", "--launcher", "srun", "--ranks", "1"]
    for call in calls:
        assert call["NRE_CACHE_DIR"] == str(results / "cache")
        assert call["cwd"] == str(sub)
        assert call["PYTHONPATH"].split(os.pathsep)[0] == str(Path(hpc.slurm.__file__)
                                                            .parent.parent)


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_study_field(field, name, place, tmp_path, monkeypatch, capsys):
    root, markers, outside = place
    value = HOSTILE[name].format(M=markers, OUT=outside)
    if field == "study.results_dir":
        value = f"res/{value}/z" if name not in ("parent", "absolute") else value
    study_file = root / "hostile.toml"
    study_file.write_text(_study_text(field, value))
    before = _tree(tmp_path, [root / "res", root / "results", tmp_path / "stubs"])
    code, err, results = _submit_and_run(monkeypatch, tmp_path, study_file, [], capsys)
    if name in ACCEPTED.get(field, ()):
        assert code == 0, err
        assert results == Path(os.path.abspath(root / value.replace("{name}", "hostile")))
        _check_stub_calls(tmp_path / "stubs", results)
    else:
        assert code == 2
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("nre slurm submit: error: "), err
        if field == "study.results_dir" and name in SLURM_PATTERN:
            assert PERCENT in lines[0], err
        else:
            assert f"key '{field}'" in lines[0], err
    assert not list(markers.iterdir())
    after = _tree(tmp_path, [root / "res", root / "results", tmp_path / "stubs"])
    assert after == before, sorted(after ^ before)


@pytest.mark.parametrize("option", ["--partition", "--account", "--qos", "--time", "--mem"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_cli_option(option, name, place, tmp_path, monkeypatch, capsys):
    root, markers, outside = place
    study_file = root / "hostile.toml"
    study_file.write_text(_study())
    value = HOSTILE[name].format(M=markers, OUT=outside)
    code, err, _results = _submit_and_run(monkeypatch, tmp_path, study_file,
                                          [f"{option}={value}"], capsys)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nre slurm submit: error: slurm "), err
    assert not (root / "results").exists()
    assert not list(markers.iterdir())


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_results_option(name, place, tmp_path, monkeypatch, capsys):
    """``--results`` is a path a person typed (relative to the working directory, anywhere):
    every hostile string but control characters is a folder name like any other."""
    root, markers, outside = place
    work = tmp_path / "work" / "deep"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    study_file = root / "hostile.toml"
    study_file.write_text(_study())
    value = HOSTILE[name].format(M=markers, OUT=outside)
    skip = [tmp_path / "stubs", Path(os.path.abspath(value))]
    before = _tree(tmp_path, skip)
    code, err, results = _submit_and_run(monkeypatch, tmp_path, study_file,
                                         [f"--results={value}"], capsys)
    if name in ("newline", "carriage-return", "nul"):
        assert code == 2 and len(err.splitlines()) == 1 and "--results" in err, err
    elif name in SLURM_PATTERN:
        assert code == 2 and len(err.splitlines()) == 1 and PERCENT in err, err
    else:
        assert code == 0, err
        assert results == Path(os.path.abspath(value))
        _check_stub_calls(tmp_path / "stubs", results)
    assert not list(markers.iterdir())
    assert _tree(tmp_path, skip) == before


def test_hostile_study_folder_and_real_worker(tmp_path, monkeypatch, capsys):
    """A study whose own folder holds every shell character: the scripts run the real
    supervisor (stub srun), which records the case in the results folder and nowhere else."""
    markers = tmp_path / "markers"
    markers.mkdir()
    _write_stubs(tmp_path / "stubs")
    root = tmp_path / "a b $(touch ${NRE_MARK}d) `touch ${NRE_MARK}b` ; x' \" & ü #c"
    root.mkdir()
    study_file = root / "s.toml"
    study_file.write_text(_study().replace("[1.0, 2.0]", "[1.0]"))
    before = _tree(tmp_path, [root / "results", tmp_path / "stubs"])
    assert nre(["slurm", "submit", study_file, "--dry-run"]) == 0
    out = capsys.readouterr().out
    folder = Path(out.split("submit with ", 1)[1].strip()).parent
    proc = _run_submit(folder, tmp_path / "stubs", markers)
    assert proc.returncode == 0, proc.stderr
    srun = [c for c in _calls(tmp_path / "stubs") if c["prog"] == "srun"]
    assert len(srun) == 1 and srun[0]["argv"][-6:-4] == ["--results", str(root / "results"
                                                                             / "hostile")]
    study = load_study(study_file)
    from studies.store import ResultStore

    (case,) = study.cases
    rec = ResultStore(study.results_dir).read_record(case.case_id)
    assert rec["status"] == "failed"  # the stub srun ran no worker
    assert "before writing its outcome" in rec["reason"]
    assert (study.results_dir / "aggregate" / "cases.csv").exists()
    assert not list(markers.iterdir())
    assert _tree(tmp_path, [root / "results", tmp_path / "stubs"]) == before


def test_every_string_field_refuses_control_characters():
    """Newline, carriage return, NUL, DEL and line separators in any string field."""
    from studies.schema import SCHEMA

    fields = [p for p, f in SCHEMA.fields.items() if str in (f.type, f.item)
              and p.startswith(("study.", "slurm.", "base.calcification."))]
    assert {"study.name", "study.results_dir", "study.description", "slurm.extra",
            "slurm.partition", "base.calcification.grade"} <= set(fields)
    for path in fields:
        for char in ("\n", "\r", "\x00", "\x7f", "\u2028"):
            with pytest.raises(StudyError) as info:
                load_study_text(_study_text(path, f"a{char}b"))
            assert any(i.key == path and "control character" in i.message
                       for i in info.value.issues), (path, repr(char), str(info.value))


@pytest.mark.parametrize("name", ["nl\n", "..", ".", "-x", "a/b", "ü", "a b", "", "x" * 101])
def test_study_name_is_checked_whole(name):
    text = _study_text("study.name", name)
    with pytest.raises(StudyError) as info:
        load_study_text(text)
    assert [i.key for i in info.value.issues] == ["study.name"], str(info.value)


def test_generated_scripts_quote_every_path(tmp_path):
    """The cache line of the scripts (once an unquoted path inside "${NRE_CACHE_DIR:-...}")."""
    root = tmp_path / "q"
    root.mkdir()
    path = root / "s.toml"
    path.write_text(_study_text("study.results_dir", "r/$(x)/`y`/\"z'"))
    study = load_study(path)
    sub = hpc.slurm.write_submission(study, [study.cases[0].case_id],
                                     hpc.slurm.SlurmOptions.from_study(study))
    text = (sub.folder / "array.sbatch").read_text()
    assert f"NRE_STUDY_CACHE={shlex.quote(str(study.results_dir / 'cache'))}" in text
    assert 'export NRE_CACHE_DIR="${NRE_CACHE_DIR:-$NRE_STUDY_CACHE}"' in text
    sbatch_lines = [ln for ln in text.splitlines() if ln.startswith("#SBATCH")]
    assert not any(str(tmp_path) in ln for ln in sbatch_lines)


# -- results folder: placeholders and the study file's folder ----------------------------------


@pytest.mark.parametrize("template", ["r/{nme}", "{0}", "{}", "{name.__class__.__mro__}",
                                      "{name[0]}", "{name!r}", "{name:>30}", "r/{", "r/}"])
def test_results_dir_only_takes_name(template, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(_study_text("study.results_dir", template))
    with pytest.raises(StudyError) as info:
        load_study(path)
    (issue,) = info.value.issues
    assert issue.key == "study.results_dir" and "allowed" in issue.message, issue
    assert repr(template) in issue.message
    assert not (tmp_path / "r").exists()


def test_results_dir_placeholders_that_work(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(_study_text("study.results_dir", "out/{name}-{{x}}"))
    assert load_study(path).results_dir == tmp_path / "out" / "hostile-{x}"


def test_results_dir_is_relative_to_the_study_file(tmp_path, monkeypatch):
    folder = tmp_path / "a"
    folder.mkdir()
    path = folder / "s.toml"
    path.write_text(_study_text("study.results_dir", "results/{name}"))
    monkeypatch.chdir(tmp_path)
    assert load_study(path).results_dir == folder / "results" / "hostile"
    monkeypatch.chdir("/")
    assert load_study(path).results_dir == folder / "results" / "hostile"


@pytest.mark.parametrize("template", ["../x", "../../x/{name}", "{OUT}/abs", "r/../../x",
                                      "link/x"])
def test_results_outside_the_study_folder_needs_permission(template, tmp_path, capsys):
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "link").symlink_to(tmp_path)  # inside by name, outside in fact
    value = template.replace("{OUT}", str(tmp_path / "elsewhere"))
    path = folder / "s.toml"
    path.write_text(_study_text("study.results_dir", value))
    with pytest.raises(StudyError) as info:
        load_study(path)
    (issue,) = info.value.issues
    assert issue.key == "study.results_dir" and "outside the study file's folder" in \
        issue.message and "allow_outside" in issue.message
    assert nre(["study", "check", path]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "--allow-outside" in err
    # the command-line flag or the file's own permission
    expect = Path(os.path.abspath(folder / value.replace("{name}", "hostile")))
    assert load_study(path, allow_outside=True).results_dir == expect
    path.write_text(_study_text("study.results_dir", value).replace(
        "[slurm]", "allow_outside = true\n[slurm]"))
    assert load_study(path).results_dir == expect
    assert nre(["study", "check", path]) == 0
    assert not (tmp_path / "x").exists() and not (tmp_path / "elsewhere").exists()


def test_cli_allow_outside_flag(tmp_path, capsys):
    folder = tmp_path / "a"
    folder.mkdir()
    path = folder / "s.toml"
    path.write_text(_study_text("study.results_dir", "../out/{name}"))
    for cmd in (["slurm", "submit", path, "--dry-run"], ["study", "status", path]):
        assert nre(cmd) == 2
        assert "outside the study file's folder" in capsys.readouterr().err
    assert nre(["slurm", "submit", path, "--dry-run", "--allow-outside"]) == 0
    assert (tmp_path / "out" / "hostile" / "slurm").is_dir()
    assert nre(["study", "status", path, "--allow-outside"]) == 1  # 2 missing cases
    assert "2 missing" in capsys.readouterr().out
