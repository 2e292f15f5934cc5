"""Refresh i18n/pos_compago.pot from the code and merge it into i18n/es.po and i18n/es_MX.po.

    python3 tools/i18n_update.py --database DB

DB must have pos_compago installed (e.g. the `make demo` database). Existing translations are
kept; new terms are added untranslated, vanished ones dropped. Run it in the runtime venv
(polib comes with Odoo's requirements).
"""

import argparse
import subprocess
import sys
from pathlib import Path

import polib

if not __package__:  # run as a script: the tools package, from the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.kit.odoo import odoo_command, process_env, runtime_env

I18N_DIR = Path(__file__).resolve().parent.parent / "i18n"
LANGUAGES = {"es": "Spanish", "es_MX": "Spanish (MX)"}


def export_pot(database):
    pot = I18N_DIR / "pos_compago.pot"
    command = odoo_command(
        runtime_env(), database, "pos_compago", "-o", str(pot), subcommand=("i18n", "export")
    )
    subprocess.run(command, check=True, env=process_env(), capture_output=True)
    return polib.pofile(str(pot))


def merge(template, language):
    path = I18N_DIR / f"{language}.po"
    old = polib.pofile(str(path)) if path.exists() else polib.POFile()
    known = {(entry.msgctxt, entry.msgid): entry for entry in old}
    merged = polib.POFile(wrapwidth=78)
    merged.metadata = {
        **template.metadata,
        "Language": language,
        "Plural-Forms": "nplurals=2; plural=(n != 1);",
        "Content-Type": "text/plain; charset=UTF-8",
    }
    untranslated = 0
    for entry in template:
        previous = known.get((entry.msgctxt, entry.msgid))
        entry.msgstr = previous.msgstr if previous else ""
        untranslated += not entry.msgstr
        merged.append(entry)
    merged.save(str(path))
    print(f"[i18n] {path.name}: {len(merged)} terms, {untranslated} untranslated")
    return untranslated


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", required=True)
    args = parser.parse_args()
    template = export_pot(args.database)
    missing = sum(merge(template, language) for language in LANGUAGES)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
