"""The conformance corpus errata produces from a catalog, passed by the generated Python
handler: every code x locale x envelope x parameter case, status, headers and body after JSON
normalization. The Rust renderer passes the same corpus (`errata conformance --check`)."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .conftest import CATALOG, REPO, corpus, generate, load_module

HERE = Path(__file__).resolve().parent
CATALOGS = {
    "classroom": CATALOG,
    "seed004": HERE / "seed004.toml",
    # Names that clash after conversion, keywords as parameters, quotes and `*/` in texts.
    "tricky": REPO / "crates" / "errata-cli" / "tests" / "external" / "tricky.toml",
}


def module_for(name: str, tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    target = tmp_path_factory.mktemp(name) / f"errors_{name}.py"
    generate(CATALOGS[name], target)
    return load_module(target, f"errors_{name}")


def run_case(errors: Any, case: dict[str, Any]) -> tuple[int, list[list[str]], Any]:
    error = errors.ApiError.of(
        case["code"],
        case.get("params") or {},
        field_errors=[
            errors.FieldError(f["path"], f["code"], f.get("params") or {}, f.get("message"))
            for f in case.get("field_errors") or []
        ],
        details=case.get("details"),
        retry_after=case.get("retry_after"),
    )
    status, headers, body = errors.render(
        error,
        locale=errors.negotiate_locale(case.get("accept_language")),
        envelope=case["envelope"],
        request_id=case.get("request_id"),
        instance=case.get("instance"),
    )
    return status, [[k.lower(), v] for k, v in headers], json.loads(body)


@pytest.mark.parametrize("name", sorted(CATALOGS))
def test_the_python_handler_passes_the_corpus(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    errors = module_for(name, tmp_path_factory)
    cases = corpus(CATALOGS[name])["cases"]
    assert len(cases) > 20
    failures = []
    for case in cases:
        got = run_case(errors, case)
        want = (case["expect"]["status"], case["expect"]["headers"], case["expect"]["body"])
        if got != want:
            failures.append(f"{case['name']}:\n  want {want}\n  got  {got}")
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(failures[:10])


def test_a_wording_change_changes_the_corpus_and_the_module(tmp_path: Path) -> None:
    changed = tmp_path / "errors.toml"
    changed.write_text(
        CATALOG.read_text(encoding="utf-8").replace("이미 수강 중인 강의입니다.", "벌써 듣고 있는 강의예요."),
        encoding="utf-8",
    )
    bodies = [
        c["expect"]["body"]
        for c in corpus(changed)["cases"]
        if c["code"] == "ALREADY_ENROLLED" and c["envelope"] == "flat" and not c.get("accept_language")
    ]
    assert bodies and all(b["message"] == "벌써 듣고 있는 강의예요." for b in bodies)
    target = tmp_path / "errors_changed.py"
    generate(changed, target)
    errors = load_module(target, "errors_changed")
    _, _, body = errors.render(errors.ERRORS["ALREADY_ENROLLED"](), envelope="flat")
    assert json.loads(body)["message"] == "벌써 듣고 있는 강의예요."


def test_clashing_names_and_keywords_still_import(tmp_path_factory: pytest.TempPathFactory) -> None:
    errors = module_for("tricky", tmp_path_factory)
    # HTTP_2_ONLY and HTTP_2ONLY differ only by case after conversion.
    assert errors.ERRORS["HTTP_2_ONLY"] is not errors.ERRORS["HTTP_2ONLY"]
    assert errors.ERRORS["HTTP_2_ONLY"].__name__.lower() != errors.ERRORS["HTTP_2ONLY"].__name__.lower()
    # Python keywords as parameters become `in_`, `class_`; the wire keeps the catalog's names.
    # Codes whose class name would be a keyword, parameters named `from` and `self`.
    assert errors.ERRORS["NONE"].__name__ == "None_2" and errors.ERRORS["TRUE"].__name__ == "True_2"
    _, _, body = errors.render(errors.ERRORS["NONE"](from_="a", self_=1), locale=1, envelope="flat")
    assert json.loads(body)["message"] == "Nada de a para 1."
    error = errors.ERRORS["STRING"](in_="x", class_=3, is_ok=True, ratio=0.5)
    _, _, body = errors.render(error, envelope="nested")
    assert json.loads(body)["error"]["params"] == {"in": "x", "class": 3, "is_ok": True, "ratio": 0.5}


def test_seed_004_flat_body_uses_the_number_as_code(tmp_path_factory: pytest.TempPathFactory) -> None:
    errors = module_for("seed004", tmp_path_factory)
    error = errors.ERRORS["OUT_OF_STOCK"](sku="A-1", available=3, ratio=2.0)
    status, _, body = errors.render(error, locale=1)
    assert status == 409
    assert json.loads(body) == {
        "status": 409,
        "code": "E409002",
        "codeNumber": "E409002",
        "message": "Only 3 of A-1 left (2).",
        "args": {"sku": "A-1", "available": 3, "ratio": 2.0},
    }
