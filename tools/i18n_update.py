"""Refresh i18n/pos_compago.pot from the code and merge it into i18n/es.po and i18n/es_MX.po.

    python3 tools/i18n_update.py --database DB
    python3 tools/i18n_update.py --database DB --module pos_self_order_compago

DB must have the module installed (e.g. the `make demo` database, which has both). Existing
translations are kept; new terms are added untranslated, vanished ones dropped. Run it in the
runtime venv (polib comes with Odoo's requirements).

The kiosk bridge lives under bridges/, inside pos_compago's folder: Odoo's export, which walks
pos_compago's folder, credits the bridge's terms to pos_compago too. They are dropped from
pos_compago's template and go to the bridge's own (bridges/pos_self_order_compago/i18n/).
"""

import argparse
import subprocess
import sys
from pathlib import Path

import polib

if not __package__:  # run as a script: the tools package, from the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.kit.odoo import BRIDGES_DIR, REPO_DIR, odoo_command, process_env, runtime_env

LANGUAGES = {"es": "Spanish", "es_MX": "Spanish (MX)"}
MODULES = {
    "pos_compago": REPO_DIR,
    "pos_self_order_compago": BRIDGES_DIR / "pos_self_order_compago",
}


def export_pot(database, module):
    pot = MODULES[module] / "i18n" / f"{module}.pot"
    command = odoo_command(
        runtime_env(), database, module, "-o", str(pot), subcommand=("i18n", "export")
    )
    subprocess.run(command, check=True, env=process_env(), capture_output=True)
    template = polib.pofile(str(pot), wrapwidth=78)
    if module == "pos_compago" and drop_bridge_terms(template):
        template.save(str(pot))
    return template


def drop_bridge_terms(template):
    """Drop what the export credits to pos_compago from files under bridges/; return whether
    anything changed."""
    changed = False
    for entry in list(template):
        kept = [(path, line) for path, line in entry.occurrences if "/bridges/" not in path]
        if kept != entry.occurrences:
            changed = True
            entry.occurrences = kept
            if not kept:
                template.remove(entry)
    return changed


def merge(template, module, language):
    path = MODULES[module] / "i18n" / f"{language}.po"
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
    parser.add_argument("--module", choices=sorted(MODULES), default="pos_compago")
    args = parser.parse_args()
    template = export_pot(args.database, args.module)
    missing = sum(merge(template, args.module, language) for language in LANGUAGES)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
