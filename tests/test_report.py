"""valuekit.report on bad input: invalid front matter, raising notebooks, missing or stale results files, drifted exact
claims, unreadable results files; the report page checked in headless Chromium."""
import json, os, re, shutil
from pathlib import Path
import nbformat, pytest
from valuekit.report import (NotebookFailed, PAPERS_END, PAPERS_START, ReportError, _write_demo_paper, build_report,
                             declared_parameters, find_nbs_dir, find_paper, paper_notebooks, paper_table_markdown,
                             read_paper_info, read_out_dir, render_notebook, run_paper, run_status, update_readme_table)

REPO = Path(__file__).resolve().parents[1]


# --- front matter and discovery ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("front, message", [
    ("no front matter at all", "raw cell with YAML"),
    ("---\ntitle: 'x\n---", "not valid YAML"),
    ("---\n- a list\n---", "must be a YAML mapping"),
    ("---\ntitle: T\ndescription: D\nvaluekit:\n  slug: Bad Slug\n  grade: toy\n---", "valuekit.slug"),
    ("---\ntitle: T\ndescription: D\nvaluekit:\n  slug: x\n  grade: excellent\n---", "valuekit.grade"),
    ("---\ntitle: T\ndescription: D\nvaluekit:\n  slug: x\n  grade: toy\n  ci_parameters: 8\n---", "ci_parameters"),
    ("---\ndescription: D\nvaluekit:\n  slug: x\n  grade: toy\n---", "`title`"),
])
def test_invalid_front_matter_names_the_file(tmp_path, front, message):
    path = _write_demo_paper(tmp_path, "x", front=front)
    with pytest.raises(ReportError, match=re.escape(message)) as e: read_paper_info(path)
    assert str(path) in str(e.value)


def test_front_matter_in_a_code_cell_is_refused(tmp_path):
    path = _write_demo_paper(tmp_path, "x")
    nb = nbformat.read(path, 4); nb.cells[0] = nbformat.v4.new_markdown_cell(nb.cells[0].source); nbformat.write(nb, path)
    with pytest.raises(ReportError, match="raw cell"): read_paper_info(path)


def test_not_a_notebook(tmp_path):
    (tmp_path/"junk.ipynb").write_text("{")
    with pytest.raises(ReportError, match="junk.ipynb: not a readable notebook"): read_paper_info(tmp_path/"junk.ipynb")


def test_paper_notebooks_order_drafts_and_slug_check(tmp_path):
    for s in ("zeta", "alpha", "_draft"): _write_demo_paper(tmp_path/"papers", s)
    assert [p.slug for p in paper_notebooks(tmp_path)] == ["alpha", "zeta"]
    info = find_paper("alpha", tmp_path)
    assert (info.grade, info.ci_parameters, info.path) == ("toy", {"limit": 2}, (tmp_path/"papers"/"alpha.ipynb").resolve())
    with pytest.raises(ReportError, match="unknown paper 'beta'; known: alpha, zeta"): find_paper("beta", tmp_path)
    (tmp_path/"papers"/"zeta.ipynb").rename(tmp_path/"papers"/"omega.ipynb")
    with pytest.raises(ReportError, match="slug 'zeta' but the file is omega.ipynb"): paper_notebooks(tmp_path)


def test_find_nbs_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO/"nbs"/"course")
    assert find_nbs_dir() == REPO/"nbs"
    fake = tmp_path/"checkout"; (fake/"notebooks").mkdir(parents=True)
    (fake/"settings.ini").write_text("[DEFAULT]\nlib_name = valuekit\nnbs_path = notebooks\n")
    assert find_nbs_dir(fake/"notebooks") == fake/"notebooks"
    (tmp_path/"other").mkdir(); (tmp_path/"other"/"settings.ini").write_text("[DEFAULT]\nlib_name = other\n")
    assert find_nbs_dir(tmp_path/"other") == REPO/"nbs"  # not a valuekit checkout: falls back to the editable install


def test_declared_parameters_reads_annotations_papermill_misses():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "limit: int | None = None  # items\ndata_dir: str | None = None\na = b = 1\nx: float", metadata={"tags": ["parameters"]})])
    assert declared_parameters(nb) == ["limit", "data_dir", "a", "b", "x"]


# --- running ------------------------------------------------------------------------------------------------------------

ENV_BODY = ("import os, json\nresults.record('n', 3)\n"
            "json.dump({'cwd': os.getcwd(), 'hf': os.environ.get('HF_HUB_OFFLINE'), 'limit': limit, 'out_dir': out_dir},"
            " open(os.path.join(out_dir, 'seen.json'), 'w'))")


def test_run_passes_declared_parameters_from_the_notebook_folder(tmp_path, monkeypatch):
    nb = _write_demo_paper(tmp_path/"papers", "demo", body=ENV_BODY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.warns(UserWarning, match="declares no parameter device, temperature"):
        r = run_paper(nb, "out", dict(limit=5, device="cpu", temperature=0.2), progress=False)
    seen = json.loads((tmp_path/"out"/"seen.json").read_text())
    assert seen == {"cwd": str(nb.parent), "hf": None, "limit": 5, "out_dir": str(tmp_path/"out")}  # out_dir absolute
    assert r.parameters == {"limit": 5, "out_dir": str(tmp_path/"out")} and r.ok and r.summary["reproduced"] == 1
    assert r.notebook_path == tmp_path/"out"/"demo.ipynb" and r.results_path == tmp_path/"out"/"demo.results.json"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    run_paper(nb, "out", progress=False)
    assert json.loads((tmp_path/"out"/"seen.json").read_text())["hf"] == "1"  # inherited, never forced


def test_a_raising_notebook(tmp_path):
    body = "print('before the error')\ncount = 1\nother = 2\nmore = 3\nraise RuntimeError('judge timed out')"
    nb = _write_demo_paper(tmp_path, "boom", body=body)
    with pytest.raises(NotebookFailed) as e: run_paper(nb, tmp_path/"out", progress=False)
    msg = str(e.value)
    assert str(nb) in msg and "cell 4 (In [" in msg and "RuntimeError: judge timed out" in msg
    assert "print('before the error')" in msg and "    ..." in msg and "raise RuntimeError" not in msg.split("RuntimeError:")[0]
    executed = nbformat.read(tmp_path/"out"/"boom.ipynb", 4)  # the partially executed notebook is still written
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("before the error" in o.get("text", "") for o in outputs) and any(o.get("ename") == "RuntimeError" for o in outputs)
    assert "judge timed out" in (tmp_path/"out"/"boom.failed.txt").read_text()
    assert not (tmp_path/"out"/"boom.results.json").exists() and run_status(tmp_path/"out", "boom") == "failed"
    _write_demo_paper(tmp_path, "boom")  # fixed: a successful run removes the failure marker
    run_paper(nb, tmp_path/"out", progress=False)
    assert not (tmp_path/"out"/"boom.failed.txt").exists() and run_status(tmp_path/"out", "boom") == "1 reproduced"


def test_missing_and_stale_results_files(tmp_path):
    nb = _write_demo_paper(tmp_path, "quiet")
    run_paper(nb, tmp_path/"out", progress=False)  # an earlier, complete run leaves a results file
    nbf = nbformat.read(nb, 4); nbf.cells[-1].source = "pass  # forgot to save"; nbformat.write(nbf, nb)
    with pytest.raises(ReportError, match=r"did not write .*quiet.results.json \(the file there is from an earlier run\)"):
        run_paper(nb, tmp_path/"out", progress=False)
    with pytest.raises(ReportError, match=r"did not write .*quiet.results.json; its last cell"):
        run_paper(nb, tmp_path/"fresh", progress=False)
    assert (tmp_path/"fresh"/"quiet.ipynb").is_file() and (tmp_path/"fresh"/"quiet.failed.txt").is_file()


def test_results_saved_under_another_slug(tmp_path):
    nb = _write_demo_paper(tmp_path, "named", body="results.record('n', 3)\nresults.paper = 'other'")
    with pytest.raises(ReportError, match=r"did not write .*named.results.json.*it wrote \['other.results.json'\]"):
        run_paper(nb, tmp_path/"out", progress=False)


def test_a_drifted_exact_claim(tmp_path):
    r = run_paper(_write_demo_paper(tmp_path, "drift", body="results.record('n', 3.2)"), tmp_path/"out", progress=False)
    assert not r.ok and [c["id"] for c in r.drifted] == ["n"] and r.summary["differs"] == 1


def test_unknown_slug_is_a_clear_error(tmp_path):
    _write_demo_paper(tmp_path/"papers", "known")
    with pytest.raises(ReportError, match="unknown paper 'unknown'; known: known"): run_paper("unknown", tmp_path/"out", nbs_dir=tmp_path)


# --- the report -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    "A results folder with a good run, a drifted exact claim, a failed run and three unreadable results files."
    tmp = tmp_path_factory.mktemp("report")
    out = tmp/"reports"
    run_paper(_write_demo_paper(tmp, "good", body="results.record('n', 3, note='counted <rows> | all')"), out, progress=False)
    run_paper(_write_demo_paper(tmp, "drifted", body="results.record('n', 4, note='one extra row')"), out, progress=False)
    with pytest.raises(NotebookFailed): run_paper(_write_demo_paper(tmp, "crashed", body="1/0"), out, progress=False)
    (out/"notjson.results.json").write_text("{oops")
    (out/"nokeys.results.json").write_text(json.dumps({"paper": "nokeys"}))
    good = json.loads((out/"good.results.json").read_text())
    good["paper"] = "badstatus"; good["claims"][0]["status"] = "maybe"
    (out/"badstatus.results.json").write_text(json.dumps(good))
    return out, build_report(out)


def test_report_lists_every_problem(report_dir):
    out, page = report_dir
    results, problems = read_out_dir(out)
    assert [d["paper"] for d in results] == ["drifted", "good"]
    assert [p["file"] for p in problems] == ["badstatus.results.json", "nokeys.results.json", "notjson.results.json", "crashed.failed.txt"]
    text = page.read_text()
    for s in ("not valid JSON", "missing keys", "unknown status &#x27;maybe&#x27;", "ZeroDivisionError", "one extra row",
              "counted &lt;rows&gt; | all", 'href="good.html"', 'href="drifted.html"', 'href="crashed.html"'):
        assert s in text, s
    md = (out/"claims.md").read_text()
    assert "| good | n | Table 1 | 3 | 3 | reproduced | counted <rows> \\| all |" in md
    assert "| drifted | n | Table 1 | 3 | 4 | differs | one extra row |" in md and "notjson.results.json" in md
    assert "![Claims by paper and status](overview.png)" in md and (out/"overview.png").stat().st_size > 1000


def test_report_opens_in_chromium(report_dir, browser):
    out, page_path = report_dir
    requests = []
    page = browser.new_page()
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(page_path.as_uri(), wait_until="load")
        assert page.title() == "valuekit reproduction report"
        totals = page.locator("table.totals td").all_inner_texts()
        assert [t.strip() for t in totals] == ["1", "1", "0", "0"]  # reproduced, differs, not-run, synthetic
        assert page.locator("table.claims tbody tr").count() == 2 and page.locator("table.problems tbody tr").count() == 4
        img = page.locator("img[alt='Claims by paper and status']")
        assert img.evaluate("i => i.complete && i.naturalWidth > 300")
        assert all(u.startswith(("file:", "data:")) for u in requests), requests  # self-contained: nothing fetched
        page.click("table.papers a:text-is('drifted')")  # the link opens the rendered executed notebook
        page.wait_for_load_state("load")
        assert page.url.endswith("/drifted.html") and "A demo paper" in page.locator("h1").first.inner_text()
        assert page.locator(".jp-OutputArea-output").count() >= 1
    finally: page.close()


def test_rendered_page_is_kept_until_the_notebook_changes(report_dir):
    out, _ = report_dir
    page = render_notebook(out/"good.ipynb")
    stamp = page.stat().st_mtime_ns
    assert render_notebook(out/"good.ipynb").stat().st_mtime_ns == stamp
    os.utime(out/"good.ipynb", ns=(stamp + 10**9, stamp + 10**9))
    assert render_notebook(out/"good.ipynb").stat().st_mtime_ns > stamp


def test_empty_and_missing_report_folders(tmp_path):
    (tmp_path/"empty").mkdir()
    text = build_report(tmp_path/"empty").read_text()
    assert "0 paper(s), 0 claim(s)" in text and "<img" not in text
    with pytest.raises(ReportError, match="no such folder"): build_report(tmp_path/"absent")


# --- the README table -----------------------------------------------------------------------------------------------

def test_readme_table_in_a_copy_of_the_index(tmp_path, report_dir):
    out, _ = report_dir
    nbs = tmp_path/"nbs"
    for s in ("good", "drifted", "crashed", "never"): _write_demo_paper(nbs/"papers", s, grade="exact" if s == "good" else "toy")
    table = paper_table_markdown(out, nbs)
    assert table.splitlines()[2:] == [
        "| [A demo paper](papers/crashed.ipynb) | toy | — | — | — | — | failed |",
        "| [A demo paper](papers/drifted.ipynb) | toy | 0 | 1 | 0 | 0 | ok |",
        "| [A demo paper](papers/good.ipynb) | exact | 1 | 0 | 0 | 0 | ok |",
        "| [A demo paper](papers/never.ipynb) | toy | — | — | — | — | not run |"]
    index = tmp_path/"index.ipynb"
    shutil.copy(REPO/"nbs"/"index.ipynb", index)
    before = nbformat.read(index, 4)
    assert update_readme_table(index, table) and not update_readme_table(index, table)
    after = nbformat.read(index, 4)
    changed = [i for i, (a, b) in enumerate(zip(before.cells, after.cells)) if a.source != b.source]
    assert len(changed) == 1 and len(before.cells) == len(after.cells)
    src = after.cells[changed[0]].source
    inside = src[src.index(PAPERS_START) + len(PAPERS_START):src.index(PAPERS_END)]
    assert inside.strip() == table
    assert src.replace(inside, "") == before.cells[changed[0]].source.replace(
        before.cells[changed[0]].source.split(PAPERS_START)[1].split(PAPERS_END)[0], "")  # nothing outside the markers moved


def test_readme_markers_missing_or_repeated(tmp_path):
    index = tmp_path/"index.ipynb"
    for cells, message in ([["no markers here"], "found 0"], [[PAPERS_START + PAPERS_END, PAPERS_START + PAPERS_END], "found 2"],
                           [[PAPERS_END + "\n" + PAPERS_START], "no '<!-- papers:end -->' after"]):
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(c) for c in cells]), index)
        with pytest.raises(ReportError, match=re.escape(message)): update_readme_table(index, "| t |")
    with pytest.raises(ReportError, match="no such notebook"): update_readme_table(tmp_path/"none.ipynb", "| t |")
