"""RemoveEscapeLinks: after grading, delete symlinks a kernel left pointing outside its folder.

A kernel could plant one (say, to gradebook.db) for a later step that copies the folder
(feedback) to follow; the sandbox lets it write only there, so that is where to look.
"""

from __future__ import annotations

from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor

from rnnlab.grading import incidents
from rnnlab.grading.plugins import sandbox


class RemoveEscapeLinks(NbGraderPreprocessor):
    """sandbox.remove_escape_links on the folder the notebook was graded in, reported."""

    def preprocess(self, nb, resources):
        folder = (resources or {}).get("metadata", {}).get("path")
        planted = sandbox.remove_escape_links(Path(folder)) if folder else []
        if planted:
            incidents.report(self.log, resources, f"删除了指向作业文件夹以外的符号链接：{planted}")
        return nb, resources
