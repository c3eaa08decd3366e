"""The course (nbs/course/conventions.ipynb, Exercises): every notebook's exercises follow the nbgrader format, the
solutions stay out of the student version and the docs, and the autograder gives the solution version full marks
and the untouched student version zero, at CI parameters. The solution is graded from the papermill run that
tests/test_notebooks.py already made (the shared `execute` fixture); the student version is run once more here."""
import nbformat, pytest
from conftest import paper_infos

INFOS = paper_infos()


@pytest.fixture(scope="session")
def course_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("course")


@pytest.mark.parametrize("info", INFOS, ids=[i.slug for i in INFOS])
def test_exercises_grade_themselves(info, execute, course_dir):
    from valuekit.course import exercise_problems, docs_leaks, build_course, grade, exercises
    problems = exercise_problems(info.path)
    assert not problems, f"{info.path.name}: exercises not in the course format:\n" + "\n".join(problems)
    assert docs_leaks(info.path) == [], f"{info.path.name}: solution code would be shown on the docs page"
    student = build_course(course_dir, [info])[info.slug]
    full, stu = nbformat.read(info.path, as_version=4), nbformat.read(student, as_version=4)
    for e in exercises(full):
        sol = full.cells[e.solution].source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
        assert not [l for l in sol.splitlines() if l.strip() and l.strip() in stu.cells[e.solution].source], \
            f"{info.slug}: exercise {e.n}'s solution is in the student version"
        assert stu.cells[e.check].source == full.cells[e.check].source, f"{info.slug}: exercise {e.n}'s check differs in the student version"
    run, error = execute(info)
    if error is not None: pytest.fail(f"{info.slug} did not execute at CI parameters, so its solution cannot be graded: {error}", pytrace=False)
    solution = grade(course_dir, info.slug, run.notebook_path, "solution", execute=False)
    assert solution.max_score == len(exercises(full)) and solution.score == solution.max_score, f"solution: {solution}"
    params = {**info.ci_parameters, "model": "default", "device": "auto", "out_dir": str(course_dir/"student-out")}
    untouched = grade(course_dir, info.slug, student, "student", parameters=params)
    assert untouched.max_score == solution.max_score and untouched.score == 0, f"untouched student version: {untouched}"


def test_syllabus_runs(tmp_path):
    "The syllabus executes (it asserts that every kit notebook is scheduled in a week) and its tables come from the notebooks."
    import papermill as pm
    from conftest import REPO
    syllabus = REPO/"nbs"/"course"/"syllabus.ipynb"
    out = tmp_path/"syllabus.ipynb"
    pm.execute_notebook(str(syllabus), str(out), cwd=str(syllabus.parent), kernel_name="python3", progress_bar=False,
                        parameters={"reports_dir": str(tmp_path)})
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for c in nbformat.read(out, as_version=4).cells if c.cell_type == "code" for o in c.get("outputs", []))
    from valuekit.report import paper_notebooks
    n_kit = len(paper_notebooks(REPO/"nbs"))
    assert "notebooks in 12 weeks" in text, text[:500]
    assert all(i.slug in text for i in paper_notebooks(REPO/"nbs")), "a kit notebook is missing from the syllabus's tables"
    assert n_kit >= 33
