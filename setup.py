"""Ship the one vault template: copy the repository's top-level ``vault_template/`` into the
package (``pllm_sync/data/vault_template/``) when a wheel is built, so ``pip install .``
carries it without a second copy in ``src/``. Editable installs read the top-level folder
directly (see ``pllm_sync.vault.template.template_dir``). Everything else is in
``pyproject.toml``."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TEMPLATE = Path(__file__).resolve().parent / "vault_template"


class BuildWithTemplate(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "pllm_sync" / "data" / "vault_template"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(TEMPLATE, target, ignore=shutil.ignore_patterns("__pycache__"))


setup(cmdclass={"build_py": BuildWithTemplate})
