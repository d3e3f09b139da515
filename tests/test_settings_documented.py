"""Every setting the service reads is documented, by its environment name, in README.md or docs/."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from serpgate.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def env_names(model: type[BaseModel], prefix: str) -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += env_names(annotation, f"{prefix}{name.upper()}__")
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


def test_every_setting_has_a_row_in_the_docs() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    documented = "\n".join(page.read_text(encoding="utf-8") for page in pages if page.is_file())
    names = env_names(Settings, "SERPGATE_")
    assert len(names) > 40
    missing = [name for name in names if f"| `{name}` |" not in documented]
    assert not missing, f"settings without a row in README.md or docs/*.md: {missing}"
