"""A rule as the console's editor form has it, and back: the common fields as inputs, the
conditions and examples as YAML, everything else kept from the rule being edited.

Each input is named like the field path the admin API names in its errors (`then.en.title`,
`when`, `examples`), so an error it reports marks the input it is about. Nothing here
validates a rule: the admin API does (POST /admin/v1/rules/{id}/check).
"""

import difflib

import yaml
from werkzeug.datastructures import MultiDict

from rules import jsontext
from rules.kb.loader import dump_yaml, load_yaml

from ... import limits
from ...schemas import out_of_bounds

LANGS = ("en", "zh-CN")
RULE_DEPTH = 8  # a rule's own levels above an example's payload (examples.match.0.body...)
BLANK = {
    "id": "", "platforms": [], "regions": "*", "domains": "*", "priority": 50, "when": {},
    "then": {"category": "", "doc_url": "", "en": {"title": "", "explanation": "", "repair_steps": []},
             "zh-CN": {"title": "", "explanation": "", "repair_steps": []}},
    "source": "", "examples": {"match": [], "no_match": []},
}


def _listing(value) -> str:
    return value if isinstance(value, str) else ", ".join(str(v) for v in value or [])


def _yaml(value) -> str:
    return dump_yaml(value) if value else ""


def fields_of(body: dict) -> dict:
    """The form's values for a rule body (texts as lines, conditions and examples as YAML)."""
    then = body.get("then") if isinstance(body.get("then"), dict) else {}
    values = {
        "id": body.get("id", ""), "platforms": list(body.get("platforms") or []),
        "regions": _listing(body.get("regions", "*")), "domains": _listing(body.get("domains", "*")),
        "priority": body.get("priority", ""), "when": _yaml(body.get("when")),
        "then.category": then.get("category", ""), "then.owner": then.get("owner", ""),
        "then.doc_url": then.get("doc_url", ""), "source": body.get("source", ""),
        "examples": _yaml(body.get("examples")),
    }
    for lang in LANGS:
        text = then.get(lang) if isinstance(then.get(lang), dict) else {}
        values[f"then.{lang}.title"] = text.get("title", "")
        values[f"then.{lang}.explanation"] = text.get("explanation", "")
        values[f"then.{lang}.repair_steps"] = "\n".join(str(s) for s in text.get("repair_steps") or [])
    return values


def _scope(raw: str, upper: bool) -> str | list[str]:
    items = [p.strip() for p in raw.replace("，", ",").replace(" ", ",").split(",") if p.strip()]
    if not items or items == ["*"]:
        return "*"
    return [p.upper() if upper else p for p in items]


def _mapping(form: MultiDict, name: str, errors: list) -> dict:
    text = form.get(name, "")
    if not text.strip():
        return {}
    try:
        value = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        errors.append({"name": name, "reason": f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}"})
        return {}
    except RecursionError:
        errors.append({"name": name, "reason": "nested too deeply"})
        return {}
    if not isinstance(value, dict):
        errors.append({"name": name, "reason": "must be a mapping (name: value lines)"})
        return {}
    problem = bounded(value)
    if problem:
        errors.append({"name": name, "reason": problem})
        return {}
    return value


def bounded(value) -> str | None:
    """What is too large in a value from the form (its depth, a string), as /diagnose bounds it."""
    bounds = limits.LIMITS
    return out_of_bounds(value, bounds.json_depth + RULE_DEPTH, bounds.string_chars)


def base_of(form: MultiDict) -> dict:
    """The rule the form started from (carried in a hidden field: it holds no key)."""
    try:
        base = jsontext.loads(form.get("base") or "{}")
    except (ValueError, RecursionError):
        return {}
    return base if isinstance(base, dict) and not bounded(base) else {}


def body_of(form: MultiDict) -> tuple[dict, list[dict]]:
    """The rule the form describes, and what could not be read (named like the API's errors)."""
    errors: list[dict] = []
    body = base_of(form)
    body["id"] = form.get("id", "").strip()
    body["platforms"] = form.getlist("platforms")
    body["regions"] = _scope(form.get("regions", ""), upper=True)
    body["domains"] = _scope(form.get("domains", ""), upper=False)
    priority = form.get("priority", "").strip()
    if priority.isdigit():
        body["priority"] = int(priority)
    else:
        errors.append({"name": "priority", "reason": "a whole number from 0 to 100"})
    body["when"] = _mapping(form, "when", errors)
    then = dict(body.get("then") if isinstance(body.get("then"), dict) else {})
    then["category"] = form.get("then.category", "").strip()
    owner = form.get("then.owner", "").strip()
    if owner:
        then["owner"] = owner
    else:
        then.pop("owner", None)  # the category's owner in taxonomy.yaml
    then["doc_url"] = form.get("then.doc_url", "").strip()
    for lang in LANGS:
        then[lang] = {
            "title": form.get(f"then.{lang}.title", "").strip(),
            "explanation": form.get(f"then.{lang}.explanation", "").strip(),
            "repair_steps": [s.strip() for s in form.get(f"then.{lang}.repair_steps", "").splitlines() if s.strip()],
        }
    body["then"] = then
    body["source"] = form.get("source", "").strip()
    body["examples"] = _mapping(form, "examples", errors)
    return body, errors


def examples(body: dict) -> list[tuple[str, int, dict]]:
    """(kind, index, payload) of each example, as the API names them: examples.match.0."""
    found = body.get("examples") if isinstance(body.get("examples"), dict) else {}
    return [(kind, n, ex) for kind in ("match", "no_match")
            for n, ex in enumerate(found.get(kind) or []) if isinstance(ex, dict)]


def diff(before: dict | None, after: dict | None, before_name: str, after_name: str) -> str:
    """A unified diff of two rules' YAML ("" when they are the same)."""
    old = dump_yaml(before).splitlines(keepends=True) if before else []
    new = dump_yaml(after).splitlines(keepends=True) if after else []
    return "".join(difflib.unified_diff(old, new, before_name, after_name))
