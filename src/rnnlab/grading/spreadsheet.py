"""CSV files the instructor opens in Excel (grades, written answers to grade): written whole or not at all."""

from __future__ import annotations

import csv
from pathlib import Path

from rnnlab.grading.course import CourseError


def write_table(header: list[str], rows: list[list[str]], dest: Path) -> None:
    """A CSV that Excel on Chinese Windows and LibreOffice open as written (UTF-8 with BOM).

    Written to a temporary file beside `dest` and renamed: an existing file is replaced whole or
    not at all.
    """
    import os
    import tempfile

    dest = Path(dest)
    if not dest.parent.is_dir():
        raise CourseError(f"文件夹 {dest.parent} 不存在：请先建好它，或换一个保存位置。")
    if dest.is_dir():
        raise CourseError(f"{dest} 是一个文件夹：请给出一个文件名，例如 {dest / '成绩.csv'}。")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".csv", dir=dest.parent)
    except OSError as e:
        raise CourseError(f"不能在 {dest.parent} 里写文件（{e.strerror}）：请换一个保存位置。") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
        os.replace(tmp, dest)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise CourseError(f"不能写入 {dest}（{e.strerror}）：如果它正在 Excel 里打开，请先关掉再试。") from None
