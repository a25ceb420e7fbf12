"""HTML to PDF with Debian's headless Chromium, for everything the course prints (syllabus, handouts).

    from rnnlab.grading.printing import html_to_pdf
    html_to_pdf(Path("build/syllabus/syllabus.html"), Path("build/syllabus/syllabus.pdf"))

Chromium lays the page out as it shows it, so the page size, margins and wrapping come from the
HTML's own print CSS (`@page { size: A4 }`, `pre { white-space: pre-wrap }`).

Chinese fonts: Chromium embeds a TrueType font as a named, subset CID font, but turns a font with
CFF outlines into nameless Type 3 glyph drawings, and Debian's Noto Sans/Serif CJK (fonts-noto-cjk)
are CFF. So before printing, every Noto CJK family the page names ("Noto Sans CJK SC", "Noto Serif
CJK SC") is given an @font-face of the same name: the installed font cut down to the characters
the page uses and its outlines converted to TrueType (fontTools, a matplotlib dependency). The PDF
then carries e.g. `NotoSansCJKsc-Regular`, embedded and subset, as `pdffonts` shows.

The page is read from disk and nothing else is fetched: a proxy that does not exist and a host
resolver that finds no host stand between Chromium and the network, and its background services
(updates, sync, safe browsing) are off. A temporary profile is used and removed; a run that takes
longer than `timeout` seconds is stopped. Every failure is a CourseError with a Chinese message.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from rnnlab.grading.course import CourseError

INSTALL_HINT = "sudo apt-get install chromium fonts-noto-cjk"

# Flags for any headless Chromium the course starts (the printer here, the browser tests' Playwright).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
# No request leaves the machine: every host resolves to nothing and every URL goes to a dead proxy.
OFFLINE_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
                "--proxy-bypass-list=<-loopback>", "--disable-domain-reliability",
                "--safebrowsing-disable-auto-update", "--disable-client-side-phishing-detection"]


def find_chromium() -> str | None:
    """Debian's chromium (/usr/bin/chromium, else `chromium` on PATH), or None."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


FONT_HINT = "sudo apt-get install fonts-noto-cjk fontconfig"
# The CJK families the course's print CSS may name; a page gets an embedded copy of those it names.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC")
WEIGHTS = {400: "regular", 700: "bold"}  # CSS weight -> fontconfig style


def font_file(family: str, weight: int = 400) -> tuple[Path, int] | None:
    """(file, index in a collection) of the installed `family` at `weight`, or None when not installed."""
    if shutil.which("fc-match") is None:
        raise CourseError(f"找不到 fc-match，无法查找中文字体：请安装 fontconfig 和中文字体（{FONT_HINT}）。")
    proc = subprocess.run(["fc-match", "-f", "%{file}\n%{index}\n%{family}\n", f"{family}:{WEIGHTS[weight]}"],
                          capture_output=True, text=True)
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) < 3 or family not in lines[2].split(","):
        return None  # fc-match names some other font when the family is missing
    return Path(lines[0]), int(lines[1] or 0)


def _to_truetype(font) -> None:
    """Replace the CFF outlines of the fontTools `font` by TrueType (quadratic) ones, in place."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    glyphs = font.getGlyphSet()
    order = font.getGlyphOrder()
    glyf = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, {}
    for name in order:
        pen = TTGlyphPen(None)
        glyphs[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["glyf"], font["loca"] = glyf, newTable("loca")
    for tag in ("CFF ", "CFF2", "VORG"):
        if tag in font:
            del font[tag]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements", "maxComponentDepth"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["post"].formatType = 3.0  # no glyph names
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"


# (font file, face index) -> (the characters, that font cut down to them as TrueType): see prepare_fonts.
_PREPARED: dict[tuple[str, int], tuple[frozenset, bytes]] = {}


def prepare_fonts(pages: list[str]) -> None:
    """Before printing several pages in one run: read each installed CJK font once for all of them.

    Cutting a Noto CJK font down is mostly reading its 65,000 CFF glyphs (about 0.9 s per font and page). Here each
    font is cut once to the characters of all `pages` and converted to TrueType; each page's own subset is then
    cut from that small font (the same outlines, a fraction of the time)."""
    chars = frozenset("".join(pages)) - frozenset("\r\n\t")
    for family in CJK_FAMILIES:
        if not any(family in page for page in pages):
            continue
        for weight in WEIGHTS:
            found = font_file(family, weight)
            if found is not None:
                key = (str(found[0]), found[1])
                _PREPARED[key] = (chars, subset_truetype(*found, "".join(sorted(chars))))


def subset_truetype(path: Path, index: int, text: str) -> bytes:
    """The font at `path` (face `index` of a collection) cut down to the characters of `text`, as TrueType."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    prepared = _PREPARED.get((str(path), index))
    if prepared is not None and set(text) <= prepared[0]:
        font = TTFont(io.BytesIO(prepared[1]), lazy=False)
    else:
        font = TTFont(str(path), fontNumber=index, lazy=False)
    options = subset.Options()
    options.notdef_outline = True
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    if "glyf" not in font:
        _to_truetype(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def cjk_font_faces(page: str) -> str:
    """@font-face rules embedding every CJK_FAMILIES family `page` names, subset to `page`'s characters."""
    chars = "".join(sorted(set(page) - set("\r\n\t")))
    rules = []
    for family in CJK_FAMILIES:
        if family not in page:
            continue
        for weight in WEIGHTS:
            found = font_file(family, weight)
            if found is None:
                if weight == 400:
                    raise CourseError(f"没有找到中文字体 {family}，PDF 里的中文无法嵌入：请安装（{FONT_HINT}）。")
                continue  # no bold cut: Chromium makes the regular one bolder
            data = base64.b64encode(subset_truetype(*found, chars)).decode("ascii")
            rules.append(f'@font-face {{ font-family: "{family}"; font-weight: {weight}; font-style: normal; '
                         f'src: url(data:font/ttf;base64,{data}) format("truetype"); }}')
    return "\n".join(rules)


def _with_fonts(page: str, base: Path) -> str:
    """`page` with its CJK fonts embedded and, for a copy printed from elsewhere, a <base> at `base`."""
    head = f'<base href="{base.as_uri()}/">' if not re.search(r"<base\b", page, re.I) else ""
    faces = cjk_font_faces(page)
    if faces:
        head += f"<style>\n{faces}\n</style>"
    m = re.search(r"<head[^>]*>", page, re.I)
    if m is None:
        raise CourseError("要打印的网页没有 <head>，无法嵌入中文字体。")
    return page[:m.end()] + head + page[m.end():]


def html_to_pdf(html: Path, pdf: Path, timeout: float = 120, chromium: str | None = None) -> Path:
    """Print the local file `html` to `pdf` (A4 unless its CSS says otherwise); return `pdf`."""
    html, pdf = Path(html).resolve(), Path(pdf).resolve()
    if not html.is_file():
        raise CourseError(f"要打印的网页 {html} 不存在。")
    exe = chromium or find_chromium()
    if exe is None:
        raise CourseError(f"找不到 Chromium，无法生成 PDF：请安装 Debian 的 chromium 和中文字体（{INSTALL_HINT}）。")
    page = _with_fonts(html.read_text(encoding="utf-8"), html.parent)
    pdf.parent.mkdir(parents=True, exist_ok=True)
    partial = pdf.with_name(pdf.name + ".part")
    partial.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="rnnlab-print-") as tmp:
        profile, printed = Path(tmp) / "profile", Path(tmp) / html.name
        printed.write_text(page, encoding="utf-8")
        cmd = [exe, "--headless", *CHROMIUM_ARGS, *OFFLINE_ARGS, f"--user-data-dir={profile}",
               "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
               f"--print-to-pdf={partial}", printed.as_uri()]
        env = {**os.environ, "HOME": tmp}  # Chromium writes its crash reports and key store under HOME
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            partial.unlink(missing_ok=True)
            raise CourseError(f"Chromium 在 {timeout:g} 秒内没有把 {html.name} 打印成 PDF，已停止。") from None
        except OSError as e:
            raise CourseError(f"无法启动 Chromium（{exe}）：{e.strerror or e}。") from None
    if proc.returncode != 0 or not partial.is_file() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
        raise CourseError(f"Chromium 没能把 {html.name} 打印成 PDF（退出码 {proc.returncode}）：\n{tail}")
    os.replace(partial, pdf)
    return pdf
