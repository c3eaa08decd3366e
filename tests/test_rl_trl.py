"The TRL path of the preference toys runs: one DPO step of the tiny model through dpo-ppo's trainer='trl' branch."
import json
import pytest
from conftest import REPO


def test_dpo_ppo_trl_path(tmp_path):
    try: import trl  # noqa: F401
    except ImportError: pytest.fail("trl is a dev requirement (settings.ini dev_requirements): pip install trl", pytrace=False)
    from valuekit.report import run_paper, read_paper_info
    info = read_paper_info(REPO/"nbs"/"papers"/"dpo-ppo.ipynb")
    params = {**info.ci_parameters, "model": "tiny", "device": "cpu", "trainer": "trl", "trl_steps": 1}
    run = run_paper(info.path, tmp_path, parameters=params, progress=False)
    metrics = json.loads(run.results_path.read_text())["metrics"]
    assert metrics["trl/steps"] == 1
    assert abs(metrics["trl/first_loss"] - 0.6931) < 1e-3
