"""FeedbackFilter: what a student's feedback may show, applied inside nbgrader's own feedback run.

nbgrader_config.py puts it in GenerateFeedback.preprocessors (after GetGrades, which reads the
scores), so `nbgrader generate_feedback`, `python -m rnnlab.grading feedback` and formgrader's
"generate feedback" all write the same pages. An autograded notebook holds what a student must
not receive; the feedback keeps everything else:

- A test cell whose source (the gradebook's copy of source/) has hidden tests shows the cell as
  the release showed it, with each hidden region replaced by one Chinese placeholder line. Its
  score and the message the hidden test produced stay. Visible tests keep their code.
- A region between the solution delimiters (the reference solution) is replaced the same way,
  wherever it appears: an autograded notebook should never hold one, this makes sure.
- Every error output keeps the exception's name and its message only: the whole message of the
  checks' CheckFailed (and of assertions and the grader's own errors, all Chinese), the first
  line of any other error (torch's English message). No traceback frames, so neither rnnlab's
  internals nor lines of a hidden test. A CheckFailed shows as in the notebook: the hint alone.
- nbgrader's own comment on an answer left as the stub ("No response.") reads in Chinese.
- Absolute paths (course folder, home, site-packages, /tmp) are cut to their last component in
  every text output, and output lines that repeat a line of a hidden region are dropped.
"""

from __future__ import annotations

import re

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions, NbGraderPreprocessor
from traitlets import Int, List, Unicode

from rnnlab.failed_check import shown_lines

HIDDEN_PLACEHOLDER = "隐藏测试（代码不公开）"
# The comments nbgrader writes by itself (SaveAutoGrades), in the page's language.
AUTO_COMMENTS = {"No response.": "未作答。"}
SOLUTION_PLACEHOLDER = "参考答案不公开"

# An absolute POSIX path with at least two components, not part of a URL ("https://a/b") or of
# a relative path ("src/a/b"); and a Windows one ("C:\\Users\\..").
_POSIX_PATH = re.compile(r"(?<![\w.:/~\\-])/(?:[^\s/'\"`()<>\[\]{},;:|]+/)+([^\s/'\"`()<>\[\]{},;:|]*)")
_WINDOWS_PATH = re.compile(r"(?<![\w])[A-Za-z]:\\(?:[^\s\\'\"`()<>\[\]{},;:|]+\\)*([^\s\\'\"`()<>\[\]{},;:|]*)")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_paths(text: str) -> str:
    """Every absolute path cut to "…/<last component>" ("…/" when it ends in a folder)."""
    text = _POSIX_PATH.sub(lambda m: "…/" + m.group(1), text)
    return _WINDOWS_PATH.sub(lambda m: "…\\" + m.group(1), text)


def replace_regions(source: str, begin: str, end: str, placeholder: str, comment: bool) -> tuple[str, list[str]]:
    """`source` with each begin..end region (delimiter lines included) replaced by one placeholder
    line at the delimiter's indentation; also the lines removed. A region never closed runs to the end."""
    out, removed, inside = [], [], False
    for line in source.split("\n"):
        if not inside and begin in line:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + (f"# {placeholder}" if comment else f"*（{placeholder}）*"))
        elif inside:
            if end in line:
                inside = False
            else:
                removed.append(line)
        else:
            out.append(line)
    return "\n".join(out), removed


def _configured(config, cls, name: str) -> str:
    """The delimiter nbgrader uses (the course's config, else nbgrader's default), read without
    building the preprocessor: that would warn about options meant for its parents."""
    return config[cls.__name__].get(name, getattr(cls, name).default_value)


class FeedbackFilter(NbGraderPreprocessor):
    """Hide hidden tests, reference solutions, tracebacks and absolute paths (see the module docstring)."""

    full_message_errors = List(
        Unicode(), ["CheckFailed", "AssertionError", "KernelDied"],
        help="Errors whose whole message is shown (the checks' Chinese messages); others show their first line.",
    ).tag(config=True)
    max_message_chars = Int(2000, help="An error message longer than this is cut.").tag(config=True)
    min_hidden_line_chars = Int(8, help="Shorter lines of a hidden region are not looked for in outputs.").tag(config=True)

    def preprocess(self, nb, resources):
        self._hidden_delims = (_configured(self.config, ClearHiddenTests, "begin_test_delimeter"),
                               _configured(self.config, ClearHiddenTests, "end_test_delimeter"))
        self._solution_delims = (_configured(self.config, ClearSolutions, "begin_solution_delimeter"),
                                 _configured(self.config, ClearSolutions, "end_solution_delimeter"))
        self._sources = self._gradebook_sources(resources)
        self._secret_lines: set[str] = set()

        for cell in nb.cells:
            self._filter_source(cell)
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("comment") in AUTO_COMMENTS:
                meta["comment"] = AUTO_COMMENTS[meta["comment"]]
        visible = {line.strip() for cell in nb.cells for line in cell.source.split("\n")}
        self._secret_lines = {s for s in self._secret_lines - visible if len(s) >= self.min_hidden_line_chars}
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [self._filter_output(o) for o in cell.get("outputs", [])]
        return nb, resources

    # -- sources -------------------------------------------------------------------------
    def _gradebook_sources(self, resources) -> dict[str, str]:
        """grade_id -> the cell's source as source/ had it (hidden tests included), from the gradebook."""
        nbg = resources.get("nbgrader", {})
        if not nbg.get("db_url"):
            return {}
        try:
            with Gradebook(nbg["db_url"]) as gb:
                notebook = gb.find_notebook(nbg["notebook"], nbg["assignment"])
                return {c.name: c.source for c in notebook.source_cells}
        except MissingEntry:
            return {}

    def _filter_source(self, cell) -> None:
        begin, end = self._hidden_delims
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        original = self._sources.get(grade_id, "")
        if begin in original:
            # The cell as source/ wrote it, whatever the autograded copy holds: a test cell is
            # restored from the gradebook anyway, and this way nothing the submission did can
            # bring hidden code into the feedback.
            _, removed = replace_regions(original, begin, end, HIDDEN_PLACEHOLDER, cell.cell_type == "code")
            self._secret_lines.update(line.strip() for line in removed)
            cell.source = original
        comment = cell.cell_type == "code"
        cell.source, removed = replace_regions(cell.source, begin, end, HIDDEN_PLACEHOLDER, comment)
        self._secret_lines.update(line.strip() for line in removed)
        cell.source, removed = replace_regions(cell.source, *self._solution_delims, SOLUTION_PLACEHOLDER, comment)
        self._secret_lines.update(line.strip() for line in removed)

    # -- outputs -------------------------------------------------------------------------
    def _clean_text(self, text: str) -> str:
        lines = []
        for line in strip_paths(_ANSI.sub("", text)).split("\n"):
            s = line.strip()
            if s in self._secret_lines or any(len(h) >= 20 and h in s for h in self._secret_lines):
                continue
            lines.append(line)
        return "\n".join(lines)

    def _filter_output(self, output):
        kind = output.get("output_type")
        if kind == "error":
            ename = str(output.get("ename", "Error"))
            evalue = _ANSI.sub("", str(output.get("evalue", "")))
            if ename not in self.full_message_errors:
                evalue = next((line.strip() for line in evalue.splitlines() if line.strip()), "")
            evalue = self._clean_text(evalue).strip()
            if len(evalue) > self.max_message_chars:
                evalue = evalue[: self.max_message_chars] + "…"
            output.evalue = evalue
            output.ename = ename
            # A failed check reads as in the notebook (the hint alone); other errors as "Name: message".
            output.traceback = (shown_lines(evalue) if ename == "CheckFailed" and evalue
                                else [f"{ename}: {evalue}" if evalue else ename])
        elif kind == "stream":
            text = output.get("text", "")
            output.text = self._clean_text("".join(text) if isinstance(text, list) else text)
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            if isinstance(data.get("text/plain"), str):
                data["text/plain"] = self._clean_text(data["text/plain"])
        return output
