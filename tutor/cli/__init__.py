"""The `mathtutor` command. Each area's commands are module-level click commands in its own module,
added to `main` by that module's `register()`:

- `web`: serve; `config`: settings; `solver`: solve, eval; `tutoring`: eval-tutor
- `grading`: grade, check-step; `work`: check-work; `sandbox`: sandbox exec|check
- `store`: db (and the store as the other commands open it); `users`: user, learner delete;
  `classes`: class, export; `admin`: admin roster|flags|resolve-flag|audit (these three call tutor.school)
- `ops`: model check, backup, restore, doctor, service-unit (these call tutor.ops)
- `practice`: practice-sim, practice bank|generate|approve, learner fit (these call tutor.practice)
"""

from __future__ import annotations

import importlib

import click

# Modules of tutor/cli/ that define `register(main: click.Group) -> None`.
COMMAND_MODULES = [
    "tutor.cli.web",
    "tutor.cli.config",
    "tutor.cli.tutoring",
    "tutor.cli.store",
    "tutor.cli.users",
    "tutor.cli.classes",
    "tutor.cli.sandbox",
    "tutor.cli.grading",
    "tutor.cli.work",
    "tutor.cli.solver",
    "tutor.cli.admin",
    "tutor.cli.ops",
    "tutor.cli.practice",
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mathtutor")
def main() -> None:
    """Self-hosted math tutor: DeepSeekMath reasoning, sandboxed SymPy, CAS-checked steps."""


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(main)
