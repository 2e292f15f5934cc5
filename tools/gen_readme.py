"""Assemble README.rst from the readme/*.md fragments (OCA's layout, without its generator), for
pos_compago and for each addon under bridges/ (the kiosk bridge).

python3 tools/gen_readme.py          write the README.rst files
python3 tools/gen_readme.py --check  fail when one of them is out of date

The fragments have OCA's names and come in OCA's order, under OCA's titles. One subsection is not
an OCA fragment: Performance, the last part of Development, is written whole by
``tools/bench.sh report`` into ``bench/performance.md``, beside the figures it comes from; OCA's
generator, which reads only ``readme/``, would leave it out of the README.
"""

import ast
import re
import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
# OCA's fragments (readme/<NAME>.md) and their section titles, in OCA's order.
SECTIONS = [
    ("DESCRIPTION.md", None),
    ("CONTEXT.md", "Use Cases / Context"),
    ("INSTALL.md", "Installation"),
    ("CONFIGURE.md", "Configuration"),
    ("USAGE.md", "Usage"),
    ("DEVELOP.md", "Development"),
    ("ROADMAP.md", "Known issues / Roadmap"),
    ("HISTORY.md", "Changelog"),
    ("CONTRIBUTORS.md", "Contributors"),
    ("CREDITS.md", "Other credits"),
]
# Subsections from files outside readme/, appended to a fragment's section (see above).
SUBSECTIONS = {"DEVELOP.md": [("bench/performance.md", "Performance")]}
HEADING_CHARS = {1: "=", 2: "~", 3: "-", 4: "^"}
INLINE_CODE = re.compile(r"(?<!`)`([^`]+)`(?!`)")
EMPHASIS = re.compile(r"(?<![\w`])_([^_`\n]+)_(?![\w`])")
LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")
IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)]+)\)$")


def inline(text):
    text = EMPHASIS.sub(r"*\1*", text)
    text = INLINE_CODE.sub(r"``\1``", text)
    return LINK.sub(r"`\1 <\2>`__", text)


def heading(title, level):
    return [title, HEADING_CHARS[level] * len(title), ""]


def markdown_to_rst(markdown, base_level):
    """Convert the Markdown subset our fragments use: headings, paragraphs, lists, images,
    fenced code blocks, tables kept as literal blocks."""
    out = []
    lines = markdown.splitlines()
    index = 0
    item_indent = None  # indentation of the continuation lines of the current list item
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            item_indent = None
        fence = re.match(r"^```(\w*)", line)
        if fence:
            out += [f".. code-block:: {fence[1] or 'text'}", ""]
            index += 1
            while index < len(lines) and not lines[index].startswith("```"):
                out.append(f"    {lines[index]}".rstrip())
                index += 1
            out.append("")
        elif line.startswith("|"):
            out += ["::", ""]
            while index < len(lines) and lines[index].startswith("|"):
                out.append(f"    {lines[index]}")
                index += 1
            out.append("")
            continue
        elif match := re.match(r"^(#{1,3}) (.+)$", line):
            out += heading(match[2].strip(), base_level + len(match[1]) - 1)
        elif match := IMAGE.match(line.strip()):
            out += [f".. image:: {match[2]}", f"   :alt: {match[1]}", ""]
        elif match := re.match(r"^(\s*)([-*]|\d+\.) (.+)$", line):
            bullet = "-" if match[2] in "-*" else "#."
            out.append(f"{match[1]}{bullet} {inline(match[3])}")
            item_indent = " " * (len(match[1]) + len(bullet) + 1)
        elif line.strip() and item_indent is not None:
            out.append(f"{item_indent}{inline(line.strip())}")
        elif line.strip():
            out.append(inline(line.strip()))
        elif out and out[-1] != "":
            out.append("")
        index += 1
    return [*out, ""]


def addon_dirs():
    """pos_compago (the repository root), then every addon under bridges/."""
    return [REPO_DIR, *sorted(path.parent for path in REPO_DIR.glob("bridges/*/__manifest__.py"))]


def build(addon_dir=REPO_DIR):
    manifest = ast.literal_eval((addon_dir / "__manifest__.py").read_text())
    out = heading(manifest["name"], 1)[:2]
    out = ["=" * len(manifest["name"]), *out, ""]
    out += [
        ".. This file is generated from readme/*.md by tools/gen_readme.py: edit those instead.",
        "",
        "|license| |version|",
        "",
        ".. |license| image:: https://img.shields.io/badge/licence-LGPL--3-blue.png",
        "   :alt: License: LGPL-3",
        f".. |version| image:: https://img.shields.io/badge/version-{manifest['version']}-brightgreen.png",
        f"   :alt: Version {manifest['version']}",
        "",
    ]
    for filename, title in SECTIONS:
        path = addon_dir / "readme" / filename
        if not path.exists():
            continue
        if title:
            out += heading(title, 2)
        out += markdown_to_rst(path.read_text(), 2 if title is None else 3)
        for sub_path, sub_title in SUBSECTIONS.get(filename, ()):
            if (REPO_DIR / sub_path).exists():
                out += heading(sub_title, 3)
                out += markdown_to_rst((REPO_DIR / sub_path).read_text(), 3)
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"


def check_rst(text):
    """Fail on any docutils warning: Odoo renders README.rst as the module description."""
    try:
        import docutils.core
        import docutils.utils
    except ImportError:
        return 0
    try:
        docutils.core.publish_string(
            text, writer_name="null", settings_overrides={"halt_level": 2, "report_level": 5}
        )
    except docutils.utils.SystemMessage as error:
        print(f"README.rst: {error}")
        return 1
    return 0


def main():
    status = 0
    for addon_dir in addon_dirs():
        target = addon_dir / "README.rst"
        text = build(addon_dir)
        if "--check" in sys.argv[1:]:
            if not target.exists() or target.read_text() != text:
                name = target.relative_to(REPO_DIR)
                print(f"{name} is out of date: run python3 tools/gen_readme.py")
                status = 1
            else:
                status |= check_rst(text)
        else:
            target.write_text(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
