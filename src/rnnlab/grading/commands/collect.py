"""Submissions as Chinese teaching platforms hand them out -> submitted/<学号>/<aid>/.

Layouts found in the wild: a folder per student (`学号/…`, `学号_姓名/…`, `学号-姓名/…`), flat
files (`学号_作业1.ipynb`, `姓名_学号_作业1.ipynb`, `学号-姓名.ipynb`), either of them nested in a
class folder. Zip files written by Windows tools store names in GBK without the UTF-8 flag;
zipfile then decodes them as CP437, so those names are turned back into bytes and read as GBK.
Junk (`__MACOSX/`, `._*`, `.DS_Store`, checkpoints, anything but a notebook) is ignored and named;
every notebook that names no student, or more than one, is named and skipped.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from rnnlab.grading import gradebook
from rnnlab.grading.course import CourseError, known_assignment

JUNK_DIRS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".git"}
JUNK_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}
ID_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.]*$")
SPLIT = re.compile(r"[\s_\-－—（）()\[\]【】,，]+")


def zip_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its author wrote it: UTF-8 if flagged, else GBK (or UTF-8) behind CP437."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return info.filename


def _safe(name: str) -> PurePosixPath | None:
    """A relative path inside the extraction folder (None for absolute paths or `..`)."""
    p = PurePosixPath(name.replace("\\", "/"))
    parts = [x for x in p.parts if x not in ("", ".")]
    if not parts or p.is_absolute() or ".." in parts or ":" in parts[0]:
        return None
    return PurePosixPath(*parts)


def extract(archive: Path, dest: Path) -> None:
    """Unpack with the names decoded by zip_name; nothing is written outside `dest`."""
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            rel = _safe(zip_name(info))
            if rel is None or info.is_dir():
                continue
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            with z.open(info) as src, out.open("wb") as f:
                shutil.copyfileobj(src, f)


def is_junk(rel: PurePosixPath) -> bool:
    return (any(p in JUNK_DIRS for p in rel.parts[:-1]) or rel.name in JUNK_FILES
            or rel.name.startswith("._") or rel.suffix.lower() != ".ipynb")


@dataclass
class Plan:
    found: dict[str, list[PurePosixPath]] = field(default_factory=dict)  # 学号 -> notebooks
    junk: list[PurePosixPath] = field(default_factory=list)
    skipped: list[PurePosixPath] = field(default_factory=list)           # no student named
    ambiguous: list[tuple[PurePosixPath, list[str]]] = field(default_factory=list)


def _tokens(rel: PurePosixPath) -> list[str]:
    parts = [*rel.parts[:-1], rel.stem]
    return [t for part in parts for t in SPLIT.split(part) if t]


def who(rel: PurePosixPath, aid: str, roster: dict[str, str]) -> list[str]:
    """The student ids a path names: roster ids (or roster names) first, else id-like tokens."""
    tokens = _tokens(rel)
    ids = list(dict.fromkeys(t for t in tokens if t in roster))
    if not ids:
        by_name: dict[str, list[str]] = {}
        for sid, name in roster.items():
            by_name.setdefault(name, []).append(sid)
        ids = list(dict.fromkeys(s for t in tokens for s in by_name.get(t, []) if len(by_name[t]) == 1))
    if not ids:
        taken = set(SPLIT.split(aid)) | {aid}
        ids = list(dict.fromkeys(t for t in tokens if ID_TOKEN.match(t) and any(ch.isdigit() for ch in t)
                                 and t not in taken))
    return ids


def plan(root: Path, aid: str, roster: dict[str, str], pattern: re.Pattern | None) -> Plan:
    result = Plan()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = PurePosixPath(path.relative_to(root).as_posix())
        if is_junk(rel):
            result.junk.append(rel)
            continue
        if pattern is not None:
            m = pattern.search(rel.as_posix())
            ids = [m.group("student_id")] if m and m.group("student_id") else []
        else:
            ids = who(rel, aid, roster)
        if len(ids) == 1:
            result.found.setdefault(ids[0], []).append(rel)
        elif ids:
            result.ambiguous.append((rel, ids))
        else:
            result.skipped.append(rel)
    return result


def stored_name(rel: PurePosixPath, sid: str, pattern: re.Pattern | None) -> str:
    """The file name in submitted/: the pattern's file_id group, else the name without a leading `学号_`."""
    if pattern is not None and "file_id" in pattern.groupindex:
        m = pattern.search(rel.as_posix())
        if m and m.group("file_id"):
            return PurePosixPath(m.group("file_id")).name
    m = re.match(re.escape(sid) + r"[\s_\-－]+(.+\.ipynb)$", rel.name, re.I)
    return m.group(1) if m else rel.name


def compile_pattern(text: str | None) -> re.Pattern | None:
    if text is None:
        return None
    try:
        pattern = re.compile(text)
    except re.error as e:
        raise CourseError(f"--pattern 不是合法的正则表达式（{e.msg}，位置 {e.pos}）：{text}") from None
    if "student_id" not in pattern.groupindex:
        raise CourseError("--pattern 里要有一个名为 student_id 的组，例如 "
                          r"'(?P<student_id>\d{10})_[^/]*\.ipynb$'。")
    return pattern


def _listing(paths, limit: int = 20) -> str:
    paths = [str(p) for p in paths]
    more = f" 等共 {len(paths)} 个" if len(paths) > limit else ""
    return "、".join(paths[:limit]) + more


def collect(course: Path, aid: str, source: Path, roster: dict[str, str], pattern_text: str | None) -> str:
    """Copy every recognised notebook to submitted/<学号>/<aid>/; one line per kind of file left out."""
    from rnnlab.grading.commands.roster import ID_RE

    pattern = compile_pattern(pattern_text)
    if not source.exists():
        raise CourseError(f"找不到 {source}。")
    if source.is_file() and not zipfile.is_zipfile(source):
        raise CourseError(f"{source.name} 不是 zip 压缩包；要收一个文件夹，请给出文件夹的路径。")
    work = course / "downloaded" / aid
    extracted = work / "extracted"
    if extracted.exists():
        shutil.rmtree(extracted)
    extracted.mkdir(parents=True)
    if source.is_dir():
        shutil.copytree(source, extracted / source.name)
    else:
        try:
            extract(source, extracted)
        except (zipfile.BadZipFile, OSError) as e:
            raise CourseError(f"解压 {source.name} 失败：{e}") from None
    p = plan(extracted, aid, roster, pattern)
    bad_ids = [sid for sid in p.found if not ID_RE.match(sid)]
    for sid in bad_ids:
        p.skipped += p.found.pop(sid)
    lines = []
    for sid, files in sorted(p.found.items()):
        dest = course / "submitted" / sid / aid
        dest.mkdir(parents=True, exist_ok=True)
        names = set()
        for rel in files:
            name = stored_name(rel, sid, pattern)
            name = name if name not in names else f"{Path(name).stem}_{len(names)}{rel.suffix}"
            names.add(name)
            shutil.copy2(extracted / rel, dest / name)
        if len(files) > 1:
            lines.append(f"注意：学生 {sid} 交了 {len(files)} 个笔记本（{_listing(files)}），都已放进 "
                         f"submitted/{sid}/{aid}/，批改时按作业的题目认出其中的作业。")
    head = [f"已收集 {len(p.found)} 名学生的作业到 submitted/*/{aid}/。"]
    if p.junk:
        head.append(f"已忽略 {len(p.junk)} 个不是作业笔记本的文件：{_listing(p.junk)}。")
    if p.skipped:
        head.append(f"跳过 {len(p.skipped)} 个认不出学号的笔记本：{_listing(p.skipped)}"
                    "（改文件名，或用 --pattern 给出规则）。")
    for rel, ids in p.ambiguous:
        head.append(f"跳过 {rel}：路径里有多个学号 {ids}，无法确定是谁的（先导入名单，或用 --pattern）。")
    unknown = sorted(set(p.found) - set(roster)) if roster else []
    if unknown:
        head.append(f"注意：这些学号不在名单里：{unknown}（批改时会自动加入成绩册）。")
    text = "\n".join(head + lines)
    if not p.found:
        raise CourseError("没有收集到任何作业。\n" + "\n".join(head[1:]))
    return text


def roster_of(course: Path) -> dict[str, str]:
    """学号 -> 姓名 of the students in the gradebook (empty before a roster is imported)."""
    if not gradebook.exists(course):
        return {}
    with gradebook.open(course) as gb:
        return {s.id: f"{s.last_name or ''}{s.first_name or ''}" for s in gb.students}


def run(course: Path, args) -> str:
    aid = known_assignment(course, args.assignment)
    return collect(course, aid, Path(args.source), roster_of(course), args.pattern)
