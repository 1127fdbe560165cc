"""Synthetic Hugging Face model payloads shaped like real `/api/models` list entries."""

from __future__ import annotations

import random
from typing import Any

TASKS = [
    "text-generation",
    "text-classification",
    "token-classification",
    "translation",
    "image-classification",
    "automatic-speech-recognition",
    "feature-extraction",
]
LICENSES = ["apache-2.0", "mit", "cc-by-4.0", "llama3", "gemma", "other", "openrail"]
DATASETS = [f"org{i}/corpus-{i}" for i in range(200)]
LIBS = ["transformers", "peft", "diffusers", "sentence-transformers", "gguf"]
RELATIONS = ["finetune", "adapter", "quantized", "merge"]

CARD = """---
license: {license}
language:
- en
- de
datasets:
- {dataset}
base_model: {base}
---

# {name}

## Model Details

### Model Description

{name} is a {task} model trained by {author}. Ein Modell für Tests — mit Umlauten.

## Uses

### Direct Use

Use it for {task}.

## Bias, Risks, and Limitations

It makes mistakes on out-of-domain text.

## How to Get Started with the Model

```python
from transformers import pipeline
pipe = pipeline("{task}", model="{id}")
```

## Environmental Impact

- **Hardware Type:** 1x A100
"""


def payload(i: int, rng: random.Random) -> tuple[dict[str, Any], str]:
    """One synthetic model (list entry with the expand[] fields) and its card text."""
    author = f"lab{i % 500}"
    name = f"model-{i}"
    model_id = f"{author}/{name}"
    task = rng.choice(TASKS)
    lic = rng.choice(LICENSES)
    dataset = rng.choice(DATASETS)
    base = f"lab{(i * 7) % 500}/base-{i % 97}"
    relation = rng.choice(RELATIONS)
    tags = [
        rng.choice(LIBS),
        "pytorch",
        "safetensors",
        task,
        "en",
        "de",
        f"dataset:{dataset}",
        f"arxiv:{2300 + i % 100}.{10000 + i % 9000:05d}",
        f"base_model:{base}",
        f"base_model:{relation}:{base}",
        f"license:{lic}",
        "endpoints_compatible",
        "region:us",
    ]
    body = {
        "_id": f"{i:024x}",
        "id": model_id,
        "author": author,
        "sha": f"{i:040x}",
        "createdAt": "2024-03-01T10:00:00.000Z",
        "lastModified": "2025-06-01T10:00:00.000Z",
        "downloads": rng.randint(0, 10**6),
        "downloadsAllTime": rng.randint(10**6, 10**7),
        "likes": rng.randint(0, 5000),
        "gated": rng.choice([False, False, "auto", "manual"]),
        "library_name": tags[0],
        "pipeline_tag": task,
        "tags": tags,
        "cardData": {
            "license": lic,
            "language": ["en", "de"],
            "datasets": [dataset],
            "base_model": base,
            "license_name": "acme" if lic == "other" else None,
        },
        "config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
        "transformersInfo": {"auto_model": "AutoModelForCausalLM", "pipeline_tag": task},
        "safetensors": {"parameters": {"BF16": 7241732096}, "total": 7241732096},
        "siblings": [
            {"rfilename": f}
            for f in (".gitattributes", "README.md", "config.json", "model.safetensors")
        ],
        "model-index": [
            {
                "name": model_id,
                "results": [
                    {
                        "task": {"type": task, "name": task.replace("-", " ").title()},
                        "dataset": {"type": dataset, "name": dataset, "split": "test"},
                        "metrics": [
                            {"type": "accuracy", "value": rng.random(), "name": "Accuracy"},
                            {"type": "f1", "value": rng.random(), "name": "F1"},
                        ],
                    }
                ],
            }
        ],
        "usedStorage": rng.randint(10**6, 10**10),
    }
    card = CARD.format(
        license=lic, dataset=dataset, base=base, name=name, task=task, author=author, id=model_id
    )
    return body, card
