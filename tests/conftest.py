"Shared test set-up: offline hub, the real-data mirror, and paper notebooks executed once per session."
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before anything imports huggingface_hub: each hub miss retries for 20-50 s
REPO = Path(__file__).resolve().parents[1]
_mirror = REPO.parent/"shared"/"data"
if "VALUEKIT_DATA_DIR" not in os.environ and _mirror.is_dir(): os.environ["VALUEKIT_DATA_DIR"] = str(_mirror)

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
            try: done[info.slug] = (run_paper(info.path, executed_dir, parameters=params), None)
            except Exception as e: done[info.slug] = (None, e)
        return done[info.slug]
    return run
