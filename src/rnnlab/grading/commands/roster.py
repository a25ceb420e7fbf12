"""`python -m rnnlab.grading roster 名单.csv`: a class roster CSV (Chinese or English headers) into the gradebook,
through nbgrader's student import format and `nbgrader db student import`."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from pathlib import Path

from rnnlab.grading.course import CourseError, run_nbgrader

# Accepted header names -> nbgrader's column.
HEADERS = {
    "id": "id", "student_id": "id", "学号": "id", "编号": "id",
    "first_name": "first_name", "名": "first_name",
    "last_name": "last_name", "姓": "last_name",
    "name": "name", "姓名": "name",
    "email": "email", "邮箱": "email", "电子邮件": "email",
}
# A student id becomes a folder name (submitted/<id>/...): keep it to safe characters.
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# Two-character surnames (复姓): 欧阳娜娜 is 欧阳 + 娜娜, not 欧 + 阳娜娜.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 司空 夏侯 令狐 端木 独孤 南宫 西门 "
    "呼延 轩辕 澹台 公冶 宗政 濮阳 淳于 单于 太叔 申屠 仲孙 钟离 闻人 万俟 赫连 百里 东郭 拓跋 "
    "第五 谷梁 梁丘 左丘 闾丘 乐正 公羊 羊舌 微生 漆雕 壤驷 巫马 鲜于 亓官 司寇 子车 颛孙 段干 "
    "东门 公良 南门".split())


def split_name(name: str) -> tuple[str, str]:
    """(姓, 名) of a Chinese full name; a name in Latin letters is kept whole as the given name."""
    name = name.strip()
    if not name or name.isascii():
        return "", name
    n = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
    return name[:n], name[n:]


def _decode(raw: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):  # Excel on Chinese Windows saves GB18030
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise CourseError("名单文件的编码无法识别：请另存为 UTF-8 编码的 CSV。")


def read_roster(path: Path) -> list[dict]:
    """Rows of {id, first_name, last_name, email}; raises CourseError with a Chinese message."""
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"找不到名单文件 {path}。")
    text = _decode(path.read_bytes())
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise CourseError(f"名单文件 {path.name} 是空的。")
    header = [HEADERS.get(h.strip().lower(), HEADERS.get(h.strip())) for h in rows[0]]
    if "id" not in header:
        raise CourseError(f"名单第一行必须有“学号”（或 id）这一列，实际的列名是：{rows[0]}。")
    students, seen, problems = [], set(), []
    for line_no, row in enumerate(rows[1:], start=2):
        rec = {col: (row[i].strip() if i < len(row) else "") for i, col in enumerate(header) if col}
        sid = rec.get("id", "")
        if not sid:
            problems.append(f"第 {line_no} 行没有学号")
            continue
        if not ID_RE.match(sid):
            problems.append(f"第 {line_no} 行的学号 {sid!r} 含有不能作文件夹名的字符（只允许字母、数字、_ . -）")
            continue
        if sid in seen:
            problems.append(f"学号 {sid} 重复出现（第 {line_no} 行）")
            continue
        seen.add(sid)
        name = rec.get("name", "")
        surname = split_name(name)[0]
        last = rec.get("last_name") or surname
        first = rec.get("first_name") or name[len(surname):]
        students.append({"id": sid, "first_name": first, "last_name": last, "email": rec.get("email", "")})
    if problems:
        raise CourseError("名单有问题，没有导入任何学生：\n  " + "\n  ".join(problems))
    if not students:
        raise CourseError("名单里没有学生。")
    return students


def write_nbgrader_csv(students: list[dict], dest: Path) -> Path:
    with dest.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["id", "first_name", "last_name", "email"])
        w.writeheader()
        w.writerows(students)
    return dest


def run(course: Path, args) -> str:
    students = read_roster(args.csv)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = write_nbgrader_csv(students, Path(tmp) / "roster.csv")
        run_nbgrader(course, "db", "student", "import", str(csv_path))
    return f"已导入 {len(students)} 名学生。"
