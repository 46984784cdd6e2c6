"""empo-kedro file for ensuring the package is executable
as `empo-kedro` and `python -m empo_kedro`.

`empo-kedro chat ...` and `empo-kedro serve ...` use the tuned model (empo_kedro.serving.cli); anything else is
the project's Kedro run command, as before.
"""

import sys
from pathlib import Path
from typing import Any

from kedro.framework.cli.utils import find_run_command
from kedro.framework.project import configure_project

USE_MODEL_COMMANDS = ("chat", "serve")


def main(*args, **kwargs) -> Any:
    if not args and not kwargs and len(sys.argv) > 1 and sys.argv[1] in USE_MODEL_COMMANDS:
        from empo_kedro.serving.cli import main as use_model

        sys.exit(use_model(sys.argv[1:]))

    package_name = Path(__file__).parent.name
    configure_project(package_name)

    interactive = hasattr(sys, "ps1")
    kwargs["standalone_mode"] = not interactive

    run = find_run_command(package_name)
    return run(*args, **kwargs)


if __name__ == "__main__":
    main()
