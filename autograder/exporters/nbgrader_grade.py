"""The nbgrader preprocessor that grades a submitted notebook with the kit's sandbox (see
:mod:`autograder.exporters.nbgrader`). It runs in nbgrader's own (trusted) process and never imports or
executes the notebook's code: the kit's grader stages it and runs it in a confined worker."""

from __future__ import annotations

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from autograder.exporters.nbgrader import GRADE_PREFIX
from autograder.exporters.notebooks import file_of, grade_notebook


class LlmkitGrade(NbGraderPreprocessor):
    """Grade the notebook with the hidden suite in the sandbox; set every test cell's output from the
    result: feedback on stdout, then the points earned (a number, nbgrader's partial credit) or an error."""

    assignment = Unicode("", help="the kit's assignment id (a3 or a3_attention)").tag(config=True)

    def preprocess(self, nb, resources):
        from autograder.course import load_course

        report = grade_notebook(load_course().resolve(self.assignment), nb)
        earned: dict[str, float] = {}
        notes: dict[str, list[str]] = {}
        for test in report.tests:
            stem = file_of(test.nodeid).removesuffix(".py")
            earned[stem] = earned.get(stem, 0.0) + test.score
            if test.score < test.max_score:
                notes.setdefault(stem, []).append(f"FAIL {test.name}: {(test.output or 'failed')[:800]}")
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if cell.cell_type != "code" or not grade_id.startswith(GRADE_PREFIX):
                continue
            stem = grade_id[len(GRADE_PREFIX) :]
            score = 0.0 if report.error else earned.get(stem, 0.0)
            text = [f"llmkit: {stem}.py, {score:g} points (seed {report.seed})"]
            text += [f"grading error: {report.error}"] if report.error else notes.get(stem, [])
            text += [f"problem: {p}" for p in report.problems]
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="\n".join(text) + "\n")]
            if score > 0:
                result = {"text/plain": repr(score)}
                cell.outputs.append(nbformat.v4.new_output("execute_result", data=result, execution_count=1))
            else:
                error = nbformat.v4.new_output("error", ename="NoPoints", evalue="0 points", traceback=[])
                cell.outputs.append(error)
        return nb, resources
