"Shared test set-up: offline hub, the real-data mirror, and paper notebooks executed once per session."
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before anything imports huggingface_hub: each hub miss retries for 20-50 s
REPO = Path(__file__).resolve().parents[1]
_mirror = REPO.parent/"shared"/"data"
if "VALUEKIT_DATA_DIR" not in os.environ and _mirror.is_dir(): os.environ["VALUEKIT_DATA_DIR"] = str(_mirror)

import shutil
import pytest

TEMPLATE = REPO/"nbs"/"course"/"paper_template.ipynb"


def paper_infos():
    "Every paper notebook plus the template, as `valuekit.report.PaperInfo`s."
    from valuekit.report import paper_notebooks, read_paper_info
    return [*paper_notebooks(REPO/"nbs"), read_paper_info(TEMPLATE)]


@pytest.fixture(scope="session")
def executed_dir(tmp_path_factory):
    "Where executed notebooks and results files are kept for inspection (VALUEKIT_TEST_OUT, else a pytest temp dir)."
    out = Path(os.environ["VALUEKIT_TEST_OUT"]) if os.environ.get("VALUEKIT_TEST_OUT") else tmp_path_factory.mktemp("executed")
    out.mkdir(parents=True, exist_ok=True)
    print(f"\nexecuted notebooks are kept in {out}")
    return out


@pytest.fixture(scope="session")
def execute(executed_dir):
    "Run a paper notebook once per session with its CI parameters; returns (RunResult or None, error or None)."
    from valuekit.report import run_paper
    done = {}

    def run(info):
        if info.slug not in done:
            params = {**info.ci_parameters, "model": "default", "device": "auto"}
            try: done[info.slug] = (run_paper(info.path, executed_dir, parameters=params, fork_kernels=True), None)
            except Exception as e: done[info.slug] = (None, e)
        return done[info.slug]
    return run


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name): return shutil.which(name)
    pytest.fail("Chromium is needed for the docs check: `make browser` installs it (Debian: apt-get install chromium)", pytrace=False)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()
