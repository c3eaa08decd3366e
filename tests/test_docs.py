"""Docs check that runs without Quarto: nbdev processes the notebooks, the index and every executed paper notebook are
rendered to HTML (nbconvert), and headless Chromium opens each page: title, a table, a figure, no error output."""
import os
from pathlib import Path
import nbformat, pytest
from nbconvert import HTMLExporter
from conftest import REPO, paper_infos

INFOS = paper_infos()
ERROR_MARKERS = ("Traceback (most recent call last)", "An Exception was encountered at")


def front_matter(nb) -> dict:
    "The YAML front matter of a notebook's first raw cell, or {}."
    import yaml
    if nb.cells and nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("---"):
        return yaml.safe_load(nb.cells[0].source.strip().strip("-")) or {}
    return {}


def render(nb_path: Path, out_dir: Path) -> tuple[Path, str]:
    "Render a notebook to self-contained HTML, with its front-matter title as the page heading (as Quarto shows it)."
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells = [c for c in nb.cells if not c.source.lstrip().startswith("#| hide")]  # as nbdev leaves them out of the docs (solutions too)
    title = front_matter(nb).get("title")
    if title: nb.cells.insert(1, nbformat.v4.new_markdown_cell(f"# {title}"))
    else: title = next(l[2:].strip() for c in nb.cells if c.cell_type == "markdown" for l in c.source.splitlines() if l.startswith("# "))
    exporter = HTMLExporter(template_name="lab", embed_images=True)
    html, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title, "path": str(nb_path.parent)}})
    out = out_dir/(nb_path.stem + ".html")
    out.write_text(html, encoding="utf-8")
    return out, title


def page_problems(browser, html_path: Path, title: str) -> list[str]:
    "What is wrong with a rendered page, as seen by Chromium: missing title, table or figure; error output."
    page = browser.new_page()
    try:
        page.goto(html_path.as_uri(), wait_until="load")
        problems = []
        headings = [h.strip() for h in page.locator("h1").all_inner_texts()]
        if not any(title in h for h in headings): problems.append(f"no <h1> with the title {title!r} (h1s: {headings[:3]})")
        if page.locator("table").count() == 0: problems.append("no table")
        figures = page.locator(".jp-OutputArea-output img, .jp-OutputArea-output svg, .jp-RenderedMarkdown img, .jp-RenderedImage img").count()
        if figures == 0: problems.append("no figure")
        text = page.locator("body").inner_text()
        problems += [f"error output on the page ({m!r})" for m in ERROR_MARKERS if m in text]
        return problems
    finally:
        page.close()


def test_nbdev_processes_notebooks():
    "nbdev's notebook processing (what `nbdev_docs` renders with Quarto) runs on every notebook."
    from nbdev.serve import proc_nbs
    cwd = os.getcwd(); os.chdir(REPO)
    try: cache = proc_nbs(n_workers=0)
    finally: os.chdir(cwd)
    processed = {p.relative_to(cache).as_posix() for p in cache.rglob("*.ipynb")}
    expected = {"index.ipynb", "course/paper_template.ipynb", *(f"papers/{i.path.name}" for i in INFOS if i.path.parent.name == "papers")}
    assert expected <= processed, f"not processed: {sorted(expected - processed)}"
    for p in cache.rglob("*.ipynb"):
        src = "".join("".join(c.source) for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code")
        assert "#| export" not in src, f"{p}: nbdev directives were not processed"


def test_index_page(browser, tmp_path):
    html, title = render(REPO/"nbs"/"index.ipynb", tmp_path)
    assert page_problems(browser, html, title) == []


@pytest.mark.parametrize("info", INFOS, ids=[i.slug for i in INFOS])
def test_paper_page(info, execute, browser, tmp_path):
    run, error = execute(info)
    if error is not None: pytest.fail(f"{info.slug} did not execute, so its page cannot be checked: {error}", pytrace=False)
    html, title = render(run.notebook_path, tmp_path)
    assert page_problems(browser, html, title) == [], f"page {html}"
    assert "BEGIN SOLUTION" not in html.read_text(encoding="utf-8"), f"page {html} shows an exercise's solution"


def test_checker_catches_an_error_cell(browser, tmp_path):
    "The check is real: a page with an error cell, or with no figure, fails it."
    from nbconvert.preprocessors import ExecutePreprocessor
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Broken\n\n| a |\n|---|\n| 1 |"),
                nbformat.v4.new_code_cell("1/0")]
    ExecutePreprocessor(allow_errors=True, timeout=60).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    path = tmp_path/"broken.ipynb"; nbformat.write(nb, path)
    html, title = render(path, tmp_path)
    problems = page_problems(browser, html, title)
    assert any("error output" in p for p in problems) and "no figure" in problems, problems
