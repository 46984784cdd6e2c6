"""``empo-kedro chat`` (a terminal chat with base, SFT or DPO) and ``empo-kedro serve`` (the registered model over
HTTP on loopback, through ``mlflow models serve``)."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from empo_kedro.errors import UserFacingError, find_user_facing
from empo_kedro.evaluation.variants import BASE, DPO, SFT, VARIANTS

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "empo-dpo"
DEFAULT_ALIAS = "champion"  # the sweep's chosen trial; without a sweep, the newest version ("latest")
FALLBACK_ALIASES = ("latest",)
QUIT_COMMANDS = ("/quit", "/exit")
RESET_COMMAND = "/reset"


def tracking_uri(project: Path) -> str:
    """The project's store: ``$MLFLOW_TRACKING_URI``, else the project's ``mlruns/mlflow.db`` (as in mlflow.yml)."""
    from empo_kedro.tracking.uri import resolve_tracking_uri

    return resolve_tracking_uri(str(project / "mlruns" / "mlflow.db"))


def use_store(project: Path) -> str:
    import mlflow

    uri = tracking_uri(project)
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


# ---- serve ---------------------------------------------------------------------------------------------------


def serve_command(
    model: str, alias: str | None, version: str | None, host: str, port: int, mlflow_bin: str
) -> list[str]:
    """The ``mlflow models serve`` command line for a registered model, checked against the store first."""
    from empo_kedro.serving.registry import resolve_model_uri

    uri = resolve_model_uri(
        model,
        alias if version is None else None,
        version,
        FALLBACK_ALIASES if alias == DEFAULT_ALIAS and version is None else (),
    )
    return [mlflow_bin, "models", "serve", "-m", uri, "--env-manager", "local", "--host", host, "--port", str(port)]


def run_serve(args: argparse.Namespace) -> int:
    use_store(Path(args.project))
    beside_python = Path(sys.executable).with_name("mlflow")
    mlflow_bin = str(beside_python) if beside_python.exists() else shutil.which("mlflow") or "mlflow"
    command = serve_command(args.model, args.alias, args.version, args.host, args.port, mlflow_bin)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: serving on {args.host}: anyone who reaches it can use the model (no authentication)",
            file=sys.stderr,
        )
    print(
        f"Serving {command[4]} on http://{args.host}:{args.port}/invocations "
        f'(POST {{"messages": [{{"role": "user", "content": "..."}}]}})',
        flush=True,
    )
    if args.dry_run:
        print(" ".join(command))
        return 0
    # mlflow starts uvicorn by name: the environment's bin folder must be on PATH (it is not when called by path).
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    os.execv(command[0], command)
    return 0  # not reached


# ---- chat ----------------------------------------------------------------------------------------------------


def engine_from_project(project: Path, env: str | None):
    """Base weights and adapters from the project's catalog (``data/06_models``), settings from its parameters."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from empo_kedro.serving.chat import ChatEngine

    bootstrap_project(project)
    with KedroSession.create(project_path=project, env=env) as session:
        context = session.load_context()
        catalog, params = context.catalog, context.params
        base, sft = catalog.load("base_model"), catalog.load("sft_adapter")
        dpo = catalog.load("dpo_adapter") if catalog.exists("dpo_adapter") else None
    registry = params["registry"]
    return ChatEngine.from_folders(
        base.path,
        sft.path,
        dpo.path if dpo else None,
        params["base_model"],
        registry["generation"],
        registry["max_context_tokens"],
        params.get("system_prompt"),
    )


def engine_from_registry(model_uri: str):
    """The engine inside a registered chat model (all its variants on one copy of the weights)."""
    import mlflow

    from empo_kedro.serving.chat_model import EmpoChatModel
    from empo_kedro.serving.registry import RegistryError

    try:
        # The engine holds the weights in memory once loaded: the downloaded model folder is removed afterwards.
        with tempfile.TemporaryDirectory(prefix="empo_chat_model_") as download:
            python_model = mlflow.pyfunc.load_model(model_uri, dst_path=download).unwrap_python_model()
    except (mlflow.exceptions.MlflowException, OSError) as error:
        known = sorted(m.name for m in mlflow.MlflowClient().search_registered_models())
        raise RegistryError(
            f"cannot load {model_uri} from {mlflow.get_registry_uri()}: {error}. Registered models: {known or 'none'}"
        ) from None
    if not isinstance(python_model, EmpoChatModel):
        raise UserFacingError(f"{model_uri} is not an empo-kedro chat model ({type(python_model).__name__})")
    return python_model.engine, python_model.variant


def read_lines(stream: BinaryIO) -> Iterator[tuple[str, int]]:
    """Lines of a byte stream as text and how many undecodable bytes each had (replaced by U+FFFD)."""
    for raw in iter(stream.readline, b""):
        try:
            yield raw.decode("utf-8").rstrip("\r\n"), 0
        except UnicodeDecodeError:
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            yield text, text.count("\ufffd") - raw.decode("utf-8", errors="ignore").count("\ufffd")


def chat_loop(
    engine,
    variants: list[str],
    stdin: BinaryIO,
    stdout: TextIO,
    stderr: TextIO,
    generation: dict[str, Any] | None = None,
) -> int:
    """Read a message per line, answer with each variant (each keeps its own history), until EOF or /quit.

    Input that does not come from a terminal (a pipe, a file) is echoed after the prompt, so the transcript reads
    like the screen of a typed session.
    """
    echo = not stdin.isatty()
    histories: dict[str, list[dict[str, str]]] = {v: [] for v in variants}
    width = max(len(v) for v in variants)
    stdout.write(
        f"Chatting with {', '.join(variants)}. {RESET_COMMAND} forgets the conversation, "
        f"{QUIT_COMMANDS[0]} or Ctrl-D ends it.\nyou> "
    )
    stdout.flush()
    try:
        for line, bad_bytes in read_lines(stdin):
            if bad_bytes:
                stderr.write(f"note: your input was not valid UTF-8; {bad_bytes} byte(s) were replaced by '\ufffd'\n")
            text = line.strip()
            if echo:
                stdout.write(f"{line}\n")
            if text in QUIT_COMMANDS:
                break
            if text == RESET_COMMAND:
                histories = {v: [] for v in variants}
                stdout.write("(conversation forgotten)\n")
            elif text:
                for variant in variants:
                    history = histories[variant] + [{"role": "user", "content": text}]
                    reply = engine.reply(history, variant, generation)
                    if reply.truncated:
                        stderr.write(f"note ({variant}): {reply.warning()}\n")
                    histories[variant] = history + [{"role": "assistant", "content": reply.text}]
                    stdout.write(f"{variant:>{width}}> {reply.text}\n")
            stdout.write("you> ")
            stdout.flush()
    except KeyboardInterrupt:
        pass
    stdout.write("\nbye\n")
    stdout.flush()
    return 0


def run_chat(args: argparse.Namespace) -> int:
    project = Path(args.project).resolve()
    use_store(project)
    if args.model:
        engine, registered_variant = engine_from_registry(args.model)
        default_variant = registered_variant
    else:
        engine, default_variant = engine_from_project(project, args.env), DPO
    available = engine.variants
    variants = [v for v in VARIANTS if v in available] if args.compare else [args.variant or default_variant]
    missing = [v for v in variants if v not in available]
    if missing:
        raise UserFacingError(
            f"variant {missing} is not available here (have {available}); "
            "run `kedro run --pipeline=dpo` for the DPO adapter"
        )
    generation = {"max_new_tokens": args.max_new_tokens} if args.max_new_tokens else None
    return chat_loop(engine, variants, sys.stdin.buffer, sys.stdout, sys.stderr, generation)


# ---- entry point ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="empo-kedro", description="Use the tuned model.")
    commands = parser.add_subparsers(dest="command", required=True)
    chat = commands.add_parser("chat", help="talk to base / SFT / DPO in the terminal")
    chat.add_argument("--variant", choices=VARIANTS, help=f"which model answers (default {DPO})")
    chat.add_argument(
        "--model",
        help="a registered chat model, e.g. models:/empo-dpo@champion or "
        "models:/empo-dpo/latest (default: the project's data/06_models)",
    )
    chat.add_argument("--compare", action="store_true", help=f"answer each message with {BASE}, {SFT} and {DPO}")
    chat.add_argument("--max-new-tokens", type=int, help="reply length (default: registry.generation)")
    chat.add_argument("--env", help="Kedro environment for the project's models and parameters")
    chat.add_argument("--project", default=".", help="project folder (default: the current one)")
    chat.set_defaults(run=run_chat)
    serve = commands.add_parser("serve", help="serve a registered chat model over HTTP (mlflow models serve)")
    serve.add_argument("--model", default=DEFAULT_MODEL, help=f"registered model name (default {DEFAULT_MODEL})")
    serve.add_argument(
        "--alias", default=DEFAULT_ALIAS, help=f"alias (default {DEFAULT_ALIAS}, else the newest version: latest)"
    )
    serve.add_argument("--version", help="a version number instead of an alias")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5001)
    serve.add_argument("--project", default=".", help="project folder (its mlruns/ store)")
    serve.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    serve.set_defaults(run=run_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except Exception as error:  # a user-facing error is shown as one line, anything else as a traceback
        found = find_user_facing(error)
        if found is None:
            raise
        print(f"error: {found}", file=sys.stderr)
        return 2
