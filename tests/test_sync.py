"Notebooks are the source: the package, the notebooks' cleanliness and README.md must match what the tools make of them."
import filecmp, shutil, subprocess, sys
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _copy_project(dst: Path):
    for name in ("settings.ini", "setup.py", "pyproject.toml", "README.md"):
        if (REPO/name).exists(): shutil.copy2(REPO/name, dst/name)
    shutil.copytree(REPO/"nbs", dst/"nbs", symlinks=True, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_proc"))
    shutil.copytree(REPO/"valuekit", dst/"valuekit", ignore=shutil.ignore_patterns("__pycache__"))


def _diff(a: Path, b: Path, pattern: str) -> list[str]:
    "Relative paths matching `pattern` that differ between trees a and b, or exist in only one."
    fa = {p.relative_to(a) for p in a.rglob(pattern) if "_proc" not in p.parts and ".ipynb_checkpoints" not in p.parts}
    fb = {p.relative_to(b) for p in b.rglob(pattern) if "_proc" not in p.parts and ".ipynb_checkpoints" not in p.parts}
    return sorted(str(p) for p in fa ^ fb) + sorted(str(p) for p in fa & fb if not filecmp.cmp(a/p, b/p, shallow=False))


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    "A copy of the project after nbdev_export, nbdev_clean and the README generation."
    tmp = tmp_path_factory.mktemp("sync")
    _copy_project(tmp)
    for cmd in (["nbdev_export"], ["nbdev_clean"]):
        r = subprocess.run([str(BIN/cmd[0]), *cmd[1:]], cwd=tmp, capture_output=True, text=True)
        assert r.returncode == 0, f"{cmd[0]} failed:\n{r.stdout}\n{r.stderr}"
    return tmp


def test_package_matches_notebooks(regenerated):
    changed = _diff(REPO/"valuekit", regenerated/"valuekit", "*.py")
    assert not changed, ("valuekit/ is out of date with the notebooks in nbs/ (" + ", ".join(changed) +
                         "): run `nbdev_export` (.venv/bin/nbdev_export) and commit the notebooks and the package together")


def test_notebooks_are_clean(regenerated):
    changed = _diff(REPO/"nbs", regenerated/"nbs", "*.ipynb")
    assert not changed, ("notebooks are not clean (outputs, execution counts or metadata): " + ", ".join(changed) +
                         ": run `nbdev_clean` (.venv/bin/nbdev_clean)")


def test_readme_matches_index(tmp_path):
    "README.md is generated from nbs/index.ipynb (make readme)."
    r = subprocess.run(["make", "-s", "readme", f"README_OUT={tmp_path/'README.md'}", f"VENV={Path(sys.executable).parents[1]}"],
                       cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (REPO/"README.md").read_text() == (tmp_path/"README.md").read_text(), \
        "README.md is out of date with nbs/index.ipynb: run `make readme`"


def _notebooks():
    return sorted(p for p in (REPO/"nbs").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and "_proc" not in p.parts)


def test_notebooks_are_committed_without_outputs():
    import json
    with_outputs = [str(p.relative_to(REPO)) for p in _notebooks()
                    if any(c.get("outputs") for c in json.loads(p.read_text())["cells"])]
    assert not with_outputs, (f"notebooks with outputs: {with_outputs}: clear them (JupyterLab: Edit > Clear Outputs of "
                              "All Cells, or `jupyter nbconvert --clear-output --inplace <nb>`), then run nbdev_clean")


def test_paper_notebooks_have_front_matter_and_parameters():
    import json
    from valuekit.report import read_paper_info
    for p in sorted((REPO/"nbs"/"papers").glob("*.ipynb")) + [REPO/"nbs"/"course"/"paper_template.ipynb"]:
        info = read_paper_info(p)  # raises naming the file when the front matter is missing or invalid
        assert info.slug == p.stem or p.parent.name == "course", f"{p.name}: front-matter slug {info.slug!r} is not the file name"
        cells = json.loads(p.read_text())["cells"]
        tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, (f"{p.name}: {len(tagged)} cells tagged 'parameters' (papermill needs exactly one; "
                                  "nbdev_clean keeps the tag because settings.ini allows cell metadata key 'tags')")
        src = "".join(tagged[0]["source"])
        for name in ("model", "device", "limit", "seed", "data_dir", "out_dir"):
            assert f"{name}:" in src, f"{p.name}: the parameters cell does not declare `{name}: <type> = ...`"
