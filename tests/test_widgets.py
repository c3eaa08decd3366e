"Explorers: callbacks re-render the view when controls change; executed pages without a kernel show a static view."
from pathlib import Path
import nbformat, numpy as np, pandas as pd, pytest
from valuekit.claims import Results
from valuekit.widgets import Explorer, claims_explorer, item_explorer, scatter_explorer


@pytest.fixture
def items():
    return pd.DataFrame({"question": [f"question {i}" for i in range(5)], "answer": [f"answer <{i}>" for i in range(5)],
                         "judge": [0.1, 0.25, 0.5, 0.75, 0.9], "human": [1, 2, 3, 4, 5], "label": list("abcab")})


def test_item_explorer_follows_the_slider(items):
    ex = item_explorer(items, ["question", "answer"], ["judge", "human", "label"], title="QA")
    slider = ex.controls[0]
    assert (slider.min, slider.max, slider.value) == (0, 4, 0)
    assert "item 1 of 5" in ex.view.value and "question 0" in ex.view.value and "answer &lt;0&gt;" in ex.view.value
    for i in (3, 4, 0):
        slider.value = i
        assert f"item {i + 1} of 5" in ex.view.value and f"question {i}" in ex.view.value
        assert f"question {(i + 1) % 5}" not in ex.view.value
    slider.value = 2
    assert "<td>0.5</td>" in ex.view.value and "<td>3</td>" in ex.view.value and "<td>c</td>" in ex.view.value


def test_item_explorer_bad_input(items):
    with pytest.raises(KeyError, match=r"no column\(s\) \['score'\].*'judge'"): item_explorer(items, ["question"], ["score"])
    with pytest.raises(ValueError, match="no rows"): item_explorer(items.iloc[:0], ["question"])


def test_static_rendering_is_the_current_view(items):
    ex = item_explorer(items, ["question"], ["judge"])
    bundle = ex._repr_mimebundle_()
    assert set(bundle) >= {"text/plain", "text/html", "application/vnd.jupyter.widget-view+json"}
    assert "question 0" in bundle["text/html"] and "item = 0" in bundle["text/html"]
    ex.controls[0].value = 4
    assert "question 4" in ex._repr_mimebundle_()["text/html"]


def test_scatter_explorer_replots_on_choice():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"a": np.arange(30.0), "b": np.arange(30.0) * 2, "c": rng.normal(size=30), "group": ["x", "y"] * 15})
    df.loc[0, "c"] = np.nan
    sx = scatter_explorer(df, hue="group")
    assert [c.options for c in sx.controls] == [("a", "b", "c")] * 2
    assert "Pearson r = 1.000" in sx.view.value and "(n = 30)" in sx.view.value
    before = sx.view.value
    sx.controls[0].value = "c"
    assert sx.view.value != before and "Pearson r = 1.000" not in sx.view.value and "(n = 29)" in sx.view.value
    sx.controls[1].value = "c"  # a column against itself is still a plot, not an error
    assert "Pearson r = 1.000" in sx.view.value
    with pytest.raises(KeyError, match="colour"): scatter_explorer(df, hue="colour")
    with pytest.raises(ValueError, match="two numeric columns"): scatter_explorer(df, columns=["a"])


def test_claims_explorer_filters(tmp_path):
    r = Results("demo", "Demo", [dict(id="n", where="Table 1", description="items", reported=3, kind="exact"),
                                 dict(id="acc", where="Table 2", description="accuracy", reported=50.0, kind="approx", tolerance=1),
                                 dict(id="up", where="§4", description="goes up", reported="up", kind="direction")])
    r.record("n", 3); r.record("acc", 40.0, note="small model")
    with pytest.warns(UserWarning, match="never recorded"): path = r.save(tmp_path)
    for source in (r, path):  # a Results or the path of its file
        cx = claims_explorer(source)
        status, kind = cx.controls
        assert "3 of 3 claims" in cx.view.value
        status.value = "differs"
        assert "1 of 3 claims" in cx.view.value and "small model" in cx.view.value
        status.value, kind.value = "all", "exact"
        assert "1 of 3 claims" in cx.view.value and "Table 1" in cx.view.value and "Table 2" not in cx.view.value
        status.value = "not-run"
        assert "0 of 3 claims" in cx.view.value


def test_explorer_rerenders_on_any_control():
    import ipywidgets as W
    calls = []
    box = W.Text(value="x", description="text")
    ex = Explorer([box], lambda: calls.append(box.value) or f"<p>{box.value}</p>")
    box.value = "y"
    assert calls == ["x", "y"] and ex.view.value == "<p>y</p>"


def test_executed_page_shows_the_static_view(tmp_path, browser):
    "A paper notebook run by `run_paper` and rendered by `render_notebook` shows the explorer's first item, offline."
    from valuekit.report import _write_demo_paper, render_notebook, run_paper
    body = ("import pandas as pd\nfrom valuekit.widgets import item_explorer\nresults.record('n', 3)\n"
            "df = pd.DataFrame({'text': ['first item text', 'second'], 'score': [0.5, 0.7]})\n"
            "item_explorer(df, ['text'], ['score'], title='Items')")
    run = run_paper(_write_demo_paper(tmp_path, body=body), tmp_path/"out", progress=False)
    out = nbformat.read(run.notebook_path, as_version=4)
    assert "widgets" not in out.metadata  # no saved widget state: nbconvert falls back to the static view
    page = browser.new_page()
    try:
        page.goto(render_notebook(run.notebook_path).as_uri(), wait_until="load")
        text = page.locator(".jp-OutputArea-output").all_inner_texts()
    finally: page.close()
    shown = "\n".join(text)
    assert "first item text" in shown and "item 1 of 2" in shown and "Static view (item = 0)" in shown
    assert "second" not in shown


def test_live_jupyterlab_shows_the_widget_not_the_static_view(tmp_path, browser):
    "In JupyterLab with a kernel the explorer is the live widget, and moving its slider re-renders the view."
    import socket, subprocess, sys, time, urllib.request
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("import pandas as pd\nfrom valuekit.widgets import item_explorer\n"
                                          "df = pd.DataFrame({'text': ['first item text', 'second item text']})\n"
                                          "item_explorer(df, ['text'], title='Items')")]
    nbformat.write(nb, tmp_path/"live.ipynb")
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    token, url = "valuekit-widgets-test", f"http://127.0.0.1:{port}"
    log = open(tmp_path/"lab.log", "w")
    proc = subprocess.Popen([str(Path(sys.executable).parent/"jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}", "--allow-root",
                             "--LabApp.expose_app_in_browser=True"], stdout=log, stderr=subprocess.STDOUT)
    page = None
    try:
        for _ in range(120):
            try: urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2); break
            except Exception:
                assert proc.poll() is None, (tmp_path/"lab.log").read_text()[-2000:]
                time.sleep(0.5)
        page = browser.new_page()
        page.goto(f"{url}/lab/tree/live.ipynb?token={token}", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget", timeout=60_000)
        page.evaluate("""async () => {  // wait for the kernel, then run the notebook
            const nb = window.jupyterapp.shell.currentWidget;
            await nb.sessionContext.ready;
            await window.jupyterapp.commands.execute('notebook:run-all-cells');
        }""")
        page.wait_for_selector(".jp-OutputArea-output .widget-slider", timeout=90_000)
        output = page.locator(".jp-OutputArea-output").first
        page.wait_for_function("document.querySelector('.jp-OutputArea-output').innerText.includes('item 1 of 2')", timeout=30_000)
        assert "Static view" not in output.inner_text()  # the widget, not the static fallback
        page.locator(".jp-OutputArea-output .noUi-handle, .jp-OutputArea-output .ui-slider-handle").first.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("document.querySelector('.jp-OutputArea-output').innerText.includes('item 2 of 2')", timeout=30_000)
        assert "second item text" in output.inner_text() and "first item text" not in output.inner_text()
    finally:
        if page is not None: page.close()
        proc.terminate(); proc.wait(timeout=30); log.close()
