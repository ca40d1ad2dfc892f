"""The data files Kit Complet ships, made by ``scripts/make_files.py``.

The Word template and the instruction file feed the openai-docx plugin (``GD_DOCX_TEMPLATE``
and ``GD_PROMPT_PATH``); the guide is the PDF delivered as soon as an order is paid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

#: The folder holding the files, inside the installed package.
FILES_DIR: Final[Path] = Path(__file__).resolve().parent
#: The docxtpl Word template of the audit kit (cover page, organisation sheet, kit).
KIT_TEMPLATE: Final[Path] = FILES_DIR / "modele_kit_complet.docx"
#: The French instruction (system prompt) the model follows to write the audit kit.
KIT_INSTRUCTIONS: Final[Path] = FILES_DIR / "consigne_kit_complet_fr.md"
#: The name the guide is downloaded under.
GUIDE_FILENAME: Final[str] = "guide-audit-associatif.pdf"
#: The guide's media type, as served.
GUIDE_MEDIA_TYPE: Final[str] = "application/pdf"
#: The "Guide de l'audit associatif", delivered instantly after payment.
GUIDE_PDF: Final[Path] = FILES_DIR / GUIDE_FILENAME
