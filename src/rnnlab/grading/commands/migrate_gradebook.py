"""`python -m rnnlab.grading migrate-gradebook postgresql+psycopg://用户@主机:5432/数据库`: the course's
SQLite gradebook (gradebook.db) copied, every table and every row, into an empty PostgreSQL database: the
step from one instructor to a class with several graders (deploy/README.md).

nbgrader creates its own tables in the new database (as it would for a new course), the course's table of
graded answers (plugins/manual_grades.py) is created beside them, then every row goes over in one
transaction, parents before children: all of it or nothing. Each table's row count is checked afterwards.
gradebook.db is left as it was, so the move can be repeated into another empty database.
"""

from __future__ import annotations

from rnnlab.grading import gradebook
from rnnlab.grading.course import CourseError
from rnnlab.grading.plugins import manual_grades

SKIPPED = {"alembic_version"}  # nbgrader stamps the new database's schema version itself


def run(course, args) -> str:
    import sqlalchemy as sa
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    target = args.url.strip()
    gradebook.check_server_url(target, "目标数据库的地址")
    source_file = course / gradebook.FILE
    if not source_file.is_file():
        raise CourseError(f"{source_file} 不存在：这个课程目录里没有要搬的成绩册。")
    shown = sa.engine.make_url(target).render_as_string(hide_password=True)
    source = sa.create_engine(f"sqlite:///{source_file}")
    dest = sa.create_engine(target)
    try:
        if _rows_in(dest):
            raise CourseError(f"{shown} 不是空的（已经有成绩）：为了不混在一起，只往空数据库里搬。"
                              "请新建一个数据库（createdb），或者确认后先清空它。")
        gradebook.use_course_path()
        Gradebook(target).close()  # nbgrader's tables, as nbgrader makes them
        with dest.begin() as conn:
            conn.execute(sa.text(manual_grades.CREATE))
        tables = sa.MetaData()
        tables.reflect(source)
        created = sa.MetaData()
        created.reflect(dest)
        counts = {}
        with source.connect() as src, dest.begin() as dst:  # one transaction: every row or none
            for table in reversed(created.sorted_tables):  # what nbgrader wrote on creating it (its course row)
                if table.name not in SKIPPED:
                    dst.execute(table.delete())
            for table in tables.sorted_tables:
                if table.name in SKIPPED:
                    continue
                if table.name not in created.tables:
                    raise CourseError(f"gradebook.db 里的表 {table.name} 在新数据库里没有对应的表"
                                      "（两边的 nbgrader 版本不同？）：什么也没有搬。")
                rows = [dict(r) for r in src.execute(table.select()).mappings()]
                if rows:
                    dst.execute(created.tables[table.name].insert(), rows)
                counts[table.name] = len(rows)
        with dest.connect() as conn:
            moved = {name: conn.execute(sa.select(sa.func.count()).select_from(created.tables[name])).scalar()
                     for name in counts}
    except OperationalError as e:
        raise CourseError(f"连不上 {shown}：{gradebook.first_line(e)}") from None
    except SQLAlchemyError as e:
        raise CourseError(f"往 {shown} 写入时出错，什么也没有搬：{gradebook.first_line(e)}") from None
    finally:
        source.dispose()
        dest.dispose()
    if moved != counts:
        wrong = [f"{t}（{counts[t]} → {moved[t]}）" for t in counts if moved[t] != counts[t]]
        raise CourseError(f"搬完后行数对不上：{'、'.join(wrong)}。请不要使用这个数据库。")
    return (f"已把 {source_file.name} 的 {len(counts)} 张表、{sum(counts.values())} 行搬进 {shown}，"
            "逐表核对了行数。\n"
            f"{source_file.name} 保持原样。以后在每个批改者的终端里先设置：\n"
            f"    export {gradebook.ENV}='{target}'\n"
            "所有 python -m rnnlab.grading 命令和 nbgrader 就都读写这个数据库。")


def _rows_in(engine) -> int:
    """Rows already in the database's tables, leaving out what creating it writes (its schema version and
    nbgrader's course row): a move that failed half-way left only those, and may be run again."""
    import sqlalchemy as sa

    tables = sa.MetaData()
    tables.reflect(engine)
    with engine.connect() as conn:
        return sum(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                   for t in tables.sorted_tables if t.name not in SKIPPED | {"course"})
