"""JupyterLab smoke test: `make lab`'s server starts on 127.0.0.1 with a token, a paper notebook opens in headless
Chromium, its cells render, and ipywidgets' JupyterLab extension is loaded."""
import socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from conftest import REPO

TOKEN = "valuekit-smoke-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("lab")/"lab.log"
    cmd = [str(Path(sys.executable).parent/"jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={REPO/'nbs'}", "--ServerApp.open_browser=False", "--allow-root"]
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(120):
                try:
                    urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2); break
                except Exception:
                    if proc.poll() is not None: pytest.fail(f"jupyter lab exited: {log.read_text()[-2000:]}", pytrace=False)
                    time.sleep(0.5)
            else: pytest.fail(f"jupyter lab did not start in 60 s: {log.read_text()[-2000:]}", pytrace=False)
            yield url
        finally:
            proc.terminate(); proc.wait(timeout=30)


def test_lab_opens_a_paper_notebook(lab, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 2000})  # tall: more cells rendered at once
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{lab}/lab/tree/course/paper_template.ipynb?token={TOKEN}", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        page.wait_for_function("document.querySelectorAll('.jp-Notebook .jp-Cell').length >= 10", timeout=60_000)
        # JupyterLab renders cells as they come into view, a few at a time: wait for the markdown ones, do not race them
        page.wait_for_function("document.querySelectorAll('.jp-Notebook .jp-MarkdownCell .jp-RenderedMarkdown').length >= 5",
                               timeout=60_000)
        assert "The paper in three sentences" in page.locator(".jp-Notebook").inner_text()
        config = page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent)")
        federated = [e.get("name") for e in config.get("federated_extensions", [])]
        assert "@jupyter-widgets/jupyterlab-manager" in federated, f"ipywidgets' extension is not loaded: {federated}"
        assert not errors, f"JavaScript errors in JupyterLab: {errors[:3]}"
    finally:
        page.close()
