"""bioimage.io tensor descriptions (``inputs``/``outputs``) as short, deterministic usage text.

FAIR4ML has no property for tensor specifications, so a model's inputs, outputs and weight
formats become ``fair4ml:usageInstructions`` text such as::

    Inputs:
    - input0 (float32): axes batch, channel[1], y[min 64, step 16], x[min 64, step 16];
      preprocessing zero_mean_unit_variance
    Outputs:
    - output0 (float32): axes batch, channel[2], y[= input0.y, halo 16], x[= input0.x, halo 16]
    Weight formats: pytorch_state_dict, torchscript

Both description generations are read: format 0.3/0.4 (``name``, ``axes: "bcyx"``,
``data_type``, ``shape`` as a list, ``{min, step}`` or ``{reference_tensor, scale, offset}``,
``halo`` list) and format 0.5 (``id``, ``axes`` as a list of axis objects with ``size`` as an
int, ``{min, step}``, ``{min, max}`` or ``{tensor_id, axis_id, offset}``, ``data.type``).
Anything unexpected is skipped, never raised. Pure functions, no I/O.
"""

from __future__ import annotations

import math
from typing import Any

from mlentory_crawl.normalizers.common import as_dict, as_list, as_str, dict_list, truncate

MAX_TENSORS = 16
MAX_AXES = 10
MAX_TEXT = 4000
MAX_DESCRIPTION = 120
#: 0.5 axis types whose ``id`` defaults to the type name.
_DEFAULT_AXIS_ID = {"batch": "batch", "channel": "channel", "index": "index", "time": "time"}


def _num(value: Any) -> str | None:
    """A number as short text (``64``, ``0.5``, ``inf``); ``None`` for non-numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:g}"
    return str(value)


def _num_list(value: Any) -> str | None:
    """``[1, 1, 64, 64]`` for a list of numbers (``None`` if any item is not a number)."""
    items = as_list(value)[:MAX_AXES]
    texts = [_num(item) for item in items]
    if not texts or any(t is None for t in texts):
        return None
    return "[" + ", ".join(t for t in texts if t is not None) + "]"


def _word(value: Any, limit: int = 40) -> str | None:
    """A short single-line token (tensor or axis id, dtype)."""
    text = as_str(value)
    if text is None:
        return None
    return " ".join(text.split())[:limit] or None


def _dtype(tensor: dict[str, Any]) -> str | None:
    """The data type: ``data_type`` (0.4) or ``data.type`` (0.5, also per-channel lists)."""
    legacy = _word(tensor.get("data_type"))
    if legacy:
        return legacy
    data = tensor.get("data")
    types = [_word(item.get("type")) for item in dict_list(data)]
    names = sorted({t for t in types if t})
    if names:
        return "/".join(names)
    # 0.5 defaults the data description to float32; 0.4 has no default.
    return "float32" if isinstance(tensor.get("axes"), list) else None


def _size_v05(size: Any) -> str | None:
    """A 0.5 axis size: fixed, parametrized, data-dependent or a reference to another axis."""
    if isinstance(size, bool):
        return None
    if isinstance(size, int | float):
        return _num(size)
    spec = as_dict(size)
    if not spec:
        return None
    if "tensor_id" in spec or "axis_id" in spec:
        ref = ".".join(t for t in (_word(spec.get("tensor_id")), _word(spec.get("axis_id"))) if t)
        offset = _num(spec.get("offset"))
        text = f"= {ref or '?'}"
        if offset not in (None, "0"):
            text += f" {'-' if offset and offset.startswith('-') else '+'} {offset.lstrip('-')}"
        return text
    parts = [f"{key} {_num(spec[key])}" for key in ("min", "max", "step") if _num(spec.get(key))]
    return ", ".join(parts) or None


def _axis_v05(axis: dict[str, Any]) -> str | None:
    """One 0.5 axis as ``id[size, halo h]`` (or just ``id``)."""
    kind = _word(axis.get("type"))
    axis_id = _word(axis.get("id")) or _DEFAULT_AXIS_ID.get(kind or "") or ("x" if kind else None)
    if axis_id is None:
        return None
    details: list[str] = []
    size = _size_v05(axis.get("size"))
    if size is None and kind == "channel":
        names = as_list(axis.get("channel_names"))
        size = str(len(names)) if names else None
    if size is not None:
        details.append(size)
    scale = _num(axis.get("scale"))
    if scale not in (None, "1"):
        details.append(f"scale {scale}")
    halo = _num(axis.get("halo"))
    if halo not in (None, "0"):
        details.append(f"halo {halo}")
    return f"{axis_id}[{', '.join(details)}]" if details else axis_id


def _shape_v04(tensor: dict[str, Any]) -> str | None:
    """A 0.3/0.4 shape: explicit list, ``{min, step}`` or ``{reference_tensor, scale, offset}``."""
    shape = tensor.get("shape")
    if isinstance(shape, list):
        explicit = _num_list(shape)
        return f"shape {explicit}" if explicit else None
    spec = as_dict(shape)
    if "reference_tensor" in spec:
        ref = _word(spec.get("reference_tensor")) or "?"
        parts = [f"shape = {ref}"]
        scale, offset = _num_list(spec.get("scale")), _num_list(spec.get("offset"))
        if scale:
            parts.append(f"scale {scale}")
        if offset:
            parts.append(f"offset {offset}")
        return " ".join(parts)
    parts = [
        f"{key} {_num_list(spec.get(key))}" for key in ("min", "step") if _num_list(spec.get(key))
    ]
    return "shape " + " ".join(parts) if parts else None


def _processing(tensor: dict[str, Any], key: str) -> str | None:
    """Unique processing step names (``id`` in 0.5, ``name`` in 0.4), in order."""
    names: list[str] = []
    for step in dict_list(tensor.get(key))[:MAX_AXES]:
        name = _word(step.get("id")) or _word(step.get("name"))
        if name and name not in names:
            names.append(name)
    return f"{key} {', '.join(names)}" if names else None


def tensor_line(tensor: dict[str, Any]) -> str | None:
    """One tensor as one line of text, or ``None`` when it carries nothing readable."""
    name = _word(tensor.get("id")) or _word(tensor.get("name"))
    dtype = _dtype(tensor)
    parts: list[str] = []
    axes = tensor.get("axes")
    if isinstance(axes, str):
        letters = _word(axes, MAX_AXES * 2)
        parts.append(f"axes {letters}" if letters else "")
        parts.append(_shape_v04(tensor) or "")
        halo = _num_list(tensor.get("halo"))
        if halo and set(halo.strip("[]").split(", ")) != {"0"}:
            parts.append(f"halo {halo}")
    elif isinstance(axes, list):
        rendered = [_axis_v05(axis) for axis in dict_list(axes)[:MAX_AXES]]
        texts = [text for text in rendered if text]
        if texts:
            parts.append("axes " + ", ".join(texts))
    pre = "preprocessing" if "preprocessing" in tensor else "postprocessing"
    parts.append(_processing(tensor, pre) or "")
    parts = [part for part in parts if part]
    if not name and not parts:
        return None
    head = (name or "?") + (f" ({dtype})" if dtype else "")
    line = head + (": " + "; ".join(parts) if parts else "")
    description = as_str(tensor.get("description"))
    if description:
        short, _ = truncate(" ".join(description.split()), MAX_DESCRIPTION)
        line += f" — {short}"
    return line


def usage_text(rdf: dict[str, Any], weight_formats: list[str]) -> str | None:
    """Inputs, outputs and weight formats of a model description as usage text."""
    blocks: list[str] = []
    for key, title in (("inputs", "Inputs"), ("outputs", "Outputs")):
        lines = [tensor_line(t) for t in dict_list(rdf.get(key))[:MAX_TENSORS]]
        kept = [f"- {line}" for line in lines if line]
        if kept:
            blocks.append(f"{title}:\n" + "\n".join(kept))
    if weight_formats:
        blocks.append("Weight formats: " + ", ".join(weight_formats))
    if not blocks:
        return None
    text, _ = truncate("\n".join(blocks), MAX_TEXT)
    return text
