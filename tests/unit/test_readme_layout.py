# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README's map of the engine stays true: it names every file of plugins/module_utils, and
nothing that is not there."""

from __future__ import annotations

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _engine_map():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    layout = text[text.index("## Layout"):]
    return layout[layout.index("plugins/module_utils/"):layout.index("plugins/modules/")]


def test_the_engine_map_names_every_file_and_only_those():
    files = {name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "module_utils"))
             if name.endswith(".py") and name != "__init__.py"}
    named = set(re.findall(r"(?<![\w.])_[a-z0-9_]+[a-z0-9]", _engine_map())) - {"_OPS"}
    assert files - named == set(), "files the README's Layout does not name"
    assert {name for name in named if name not in files and not name.isupper()} == set(), \
        "names in the README's Layout that are not files of plugins/module_utils"
