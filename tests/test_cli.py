"""The `valuekit` command: list, run, reproduce, report, prepare; exit codes; one-line user errors; the template."""
import contextlib, io, json, os, shutil, subprocess, sys, types
from pathlib import Path
import nbformat, pytest
from valuekit.cli import main
from valuekit.report import PAPERS_END, PAPERS_START, _write_demo_paper

REPO = Path(__file__).resolve().parents[1]
VALUEKIT = Path(sys.executable).parent/"valuekit"


def call(*argv):
    "Run the command in process: (exit status, stdout, stderr)."
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e): rc = main([str(a) for a in argv])
    return rc, o.getvalue(), e.getvalue()


@pytest.fixture
def nbs(tmp_path):
    "A notebooks folder with three demo papers (one reproduces, one drifts, one raises) and an index notebook."
    nbs = tmp_path/"nbs"
    _write_demo_paper(nbs/"papers", "alpha")
    _write_demo_paper(nbs/"papers", "beta", body="results.record('n', 4, note='one extra')", grade="exact")
    _write_demo_paper(nbs/"papers", "gamma", body="raise KeyError('no such column')")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# Index\n\n{PAPERS_START}\nold\n{PAPERS_END}\n")]),
                   nbs/"index.ipynb")
    return nbs


def test_the_console_script_is_installed_and_errors_are_one_line(tmp_path):
    assert VALUEKIT.is_file(), "pip install -e . installs the `valuekit` console script"
    p = subprocess.run([VALUEKIT, "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and all(c in p.stdout for c in ("list", "run", "reproduce", "report", "prepare"))
    p = subprocess.run([VALUEKIT, "list", "--nbs", tmp_path/"absent"], capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stderr) == (2, f"valuekit list: error: {tmp_path/'absent'}: no such notebooks folder\n")
    p = subprocess.run([VALUEKIT, "run", "no-such-paper"], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert p.returncode == 2 and p.stderr.startswith("valuekit run: error: unknown paper 'no-such-paper'; known:")
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def test_list_before_and_after_runs(nbs, tmp_path):
    out = tmp_path/"reports"
    rc, o, e = call("list", "--nbs", nbs, "--out", out)
    assert rc == 0 and [l.split()[:3] for l in o.splitlines()[1:]] == [["alpha", "toy", "not"], ["beta", "exact", "not"], ["gamma", "toy", "not"]]
    call("run", "alpha", "--nbs", nbs, "--out", out)
    call("run", "gamma", "--nbs", nbs, "--out", out)
    rc, o, e = call("list", "--nbs", nbs, "--out", out)
    lines = {l.split()[0]: l for l in o.splitlines()[1:]}
    assert lines["alpha"].endswith("1 reproduced") and lines["gamma"].endswith("failed") and lines["beta"].endswith("not run")


def test_run_success_drift_and_failure(nbs, tmp_path):
    out = tmp_path/"reports"
    rc, o, e = call("run", "alpha", "--nbs", nbs, "--out", out, "--limit", "3", "--seed", "7", "--model", "tiny")
    assert rc == 0, e
    assert "Passed unknown parameter" not in e and "Unable to parse" not in e  # papermill misreads `limit: int | None`
    assert o.splitlines()[0].startswith("alpha: 1 reproduced, 0 differs, 0 not-run, 0 synthetic")
    assert f"executed notebook: {out/'alpha.ipynb'}" in o and f"results: {out/'alpha.results.json'}" in o
    params = json.loads((out/"alpha.results.json").read_text())["manifest"]["parameters"]
    assert params == {"model": "tiny", "limit": 3, "seed": 7}
    rc, o, e = call("run", "beta", "--nbs", nbs, "--out", out)
    assert rc == 1 and "exact claim not reproduced: n (Table 1): paper 3, ours 4" in o
    rc, o, e = call("run", "gamma", "--nbs", nbs, "--out", out)
    assert rc == 1 and "gamma: FAILED" in o and "KeyError: 'no such column'" in o and "Traceback" not in o + e
    assert (out/"gamma.ipynb").is_file()


def test_run_by_path_with_limit_none_and_a_dropped_option(nbs, tmp_path):
    nb = _write_demo_paper(tmp_path/"elsewhere", "delta", body="results.record('n', 3)\nassert limit is None")
    rc, o, e = call("run", nb, "--out", tmp_path/"r", "--limit", "none", "--device", "cpu")
    assert rc == 0, o + e
    assert "note: delta.ipynb declares no parameter device" in o


def test_run_usage_errors(nbs, tmp_path):
    rc, o, e = call("run", "omega", "--nbs", nbs)
    assert rc == 2 and e == "valuekit run: error: unknown paper 'omega'; known: alpha, beta, gamma\n"
    with pytest.raises(SystemExit) as ex, contextlib.redirect_stderr(io.StringIO()) as err: main(["run", "alpha", "--limit", "-1"])
    assert ex.value.code == 2 and "positive integer" in err.getvalue()
    rc, o, e = call("run", tmp_path/"missing.ipynb")
    assert rc == 2 and "missing.ipynb: no such notebook" in e


def test_reproduce_goes_on_past_failures_and_reports(nbs, tmp_path):
    out = tmp_path/"reports"
    rc, o, e = call("reproduce", "--nbs", nbs, "--out", out, "--ci")
    assert rc == 1
    assert "alpha: 1 reproduced" in o and "gamma: FAILED" in o and "exact claim not reproduced" in o
    assert "1 of 3 paper(s) with every exact claim reproduced (3 ran, 0 up to date); not: beta, gamma" in o
    for f in ("alpha.results.json", "beta.results.json", "gamma.ipynb", "gamma.failed.txt", "index.html", "claims.md"):
        assert (out/f).is_file(), f
    assert json.loads((out/"alpha.results.json").read_text())["manifest"]["parameters"]["limit"] == 2  # ci_parameters
    assert "gamma.failed.txt" in (out/"index.html").read_text()


def test_reproduce_only(nbs, tmp_path):
    out = tmp_path/"reports"
    rc, o, e = call("reproduce", "--nbs", nbs, "--out", out, "--only", "alpha")
    assert rc == 0 and "1 of 1 paper(s)" in o and not (out/"beta.results.json").exists()
    rc, o, e = call("reproduce", "--nbs", nbs, "--out", out, "--only", "alpha", "zeta")
    assert rc == 2 and "unknown paper(s) zeta; known: alpha, beta, gamma" in e


def test_report_and_readme(nbs, tmp_path):
    out = tmp_path/"reports"
    rc, o, e = call("report", "--nbs", nbs, "--out", out)
    assert rc == 2 and "no such folder" in e
    call("run", "alpha", "--nbs", nbs, "--out", out)
    rc, o, e = call("report", "--nbs", nbs, "--out", out, "--readme")
    assert rc == 0, e
    assert f"report: {out/'index.html'}" in o and "updated" in o and (out/"claims.md").is_file()
    src = nbformat.read(nbs/"index.ipynb", 4).cells[0].source
    assert "| [A demo paper](papers/alpha.ipynb) | toy | 1 | 0 | 0 | 0 | ok |" in src and "\nold\n" not in src
    rc, o, e = call("report", "--nbs", nbs, "--out", out, "--readme")
    assert rc == 0 and "unchanged" in o
    (out/"zzz.results.json").write_text("[]")
    rc, o, e = call("report", "--nbs", nbs, "--out", out)
    assert rc == 1 and "problem: zzz.results.json: unreadable results file" in e


def test_prepare_calls_the_models_module(monkeypatch):
    fake = types.ModuleType("valuekit.models")
    fake.prepare_default_model = lambda: Path("/models/gemma-3-270m")
    monkeypatch.setitem(sys.modules, "valuekit.models", fake)
    rc, o, e = call("prepare")
    assert rc == 0 and o == "default model ready: /models/gemma-3-270m\n"
    monkeypatch.setitem(sys.modules, "valuekit.models", types.ModuleType("valuekit.models"))
    rc, o, e = call("prepare")
    assert rc == 2 and "no valuekit.models.prepare_default_model" in e


def test_the_template_through_the_command(tmp_path):
    "The course template, copied into a papers folder under its slug: list, reproduce --ci, report --readme."
    nbs = tmp_path/"nbs"
    (nbs/"papers").mkdir(parents=True)
    shutil.copy(REPO/"nbs"/"course"/"paper_template.ipynb", nbs/"papers"/"paper-template.ipynb")
    shutil.copy(REPO/"nbs"/"index.ipynb", nbs/"index.ipynb")
    out = tmp_path/"reports"
    rc, o, e = call("list", "--nbs", nbs, "--out", out)
    assert rc == 0 and "paper-template  lesson     not run" in o
    rc, o, e = call("reproduce", "--nbs", nbs, "--out", out, "--ci")
    assert rc == 0, o + e
    results = json.loads((out/"paper-template.results.json").read_text())
    assert results["manifest"]["parameters"]["limit"] == 9 and results["claims"][0]["status"] == "reproduced"
    rc, o, e = call("report", "--nbs", nbs, "--out", out, "--readme")
    assert rc == 0, e
    assert "[Template: a paper notebook](papers/paper-template.ipynb) | lesson | 1 | 0 | 0 | 0 | ok |" in \
        "".join(c.source for c in nbformat.read(nbs/"index.ipynb", 4).cells)
