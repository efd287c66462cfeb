"""The summary of a batch run, as text for the terminal and as one self-contained HTML file.

The HTML page loads nothing from elsewhere (no script, web font, stylesheet or image):
its style, its bar chart (SVG) and the ops errors board (static/board.js and its data,
board.py) are inline, so it opens the same offline, attached to a ticket or in a mail.
The only links out are the rules' documentation links. Without JavaScript the static
summary still reads.
"""

import unicodedata
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape

from rules.privacy import redact_text

from .board import embed
from .summary import DIMENSIONS, NONE, Share, Summary

LABELS_PATH = Path(__file__).with_name("labels.yaml")
TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
BAR = 24  # characters of the longest bar in the terminal
TOP = 10


@cache
def _labels() -> dict:
    return yaml.safe_load(LABELS_PATH.read_text(encoding="utf-8"))


def _lang(lang: str) -> str:
    return "zh-CN" if lang.lower().startswith("zh") else "en"


def words(lang: str) -> dict[str, str]:
    return {key: texts[_lang(lang)] for key, texts in _labels()["words"].items()}


def category_label(category: str, lang: str) -> str:
    entry = _labels()["categories"].get(category)
    return entry[_lang(lang)] if entry else category


def owner_label(owner: str, lang: str) -> str:
    entry = _labels()["owners"].get(owner)
    return entry[_lang(lang)] if entry else owner


def board_labels(lang: str) -> dict:
    """The words board.js shows, and the labels of categories and owners, in one language."""
    labels, lang = _labels(), _lang(lang)
    return {"words": {key: texts[lang] for key, texts in labels["board"].items()}, "none": words(lang)["none"],
            "categories": {key: texts[lang] for key, texts in labels["categories"].items()},
            "owners": {key: texts[lang] for key, texts in labels["owners"].items()}}


@cache
def board_assets() -> tuple[str, str]:
    """board.js and board.css, as the report inlines them."""
    return (STATIC / "board.js").read_text(encoding="utf-8"), (STATIC / "board.css").read_text(encoding="utf-8")


def board_data(board, lang: str) -> dict:
    return {**board.data(_lang(lang)), "labels": board_labels(lang)}


def _key_label(key: str, lang: str) -> str:
    return words(lang)["none"] if key == NONE else key


def request_label(key: tuple) -> str:
    operation, path, kind = key
    return f"{operation}: {path} - {kind}"


# -- text -----------------------------------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    if _width(text) > width:
        while text and _width(text) > width - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (width - _width(text))


def _pct(share: float) -> str:
    return f"{100 * share:5.1f}%"


def _table(rows: list[tuple[str, int, float, str]], label_width: int = 36) -> list[str]:
    if not rows:
        return ["  -"]
    top = max(share for _, _, share, _ in rows) or 1.0
    out = []
    for label, count, share, extra in rows:
        bar = "█" * max(1, round(BAR * share / top)) if count else ""
        out.append(f"  {_pad(label, label_width)} {count:>10,} {_pct(share)}  {_pad(bar, BAR)} {extra}".rstrip())
    return out


def render_text(run, lang: str = "en", top: int = TOP) -> str:
    """The summary as a terminal shows it (`run` is a service.batch.run.RunResult)."""
    w, s = words(lang), run.summary.masked()
    lines = [
        f"{w['title']}: {run.input} ({run.kind}, {run.encoding})",
        f"{run.rows:,} {w['rows']}: {run.diagnosed:,} {w['diagnosed']}, {run.rejected:,} {w['rejected']}"
        f" · {w['kb']} {run.kb_version} ({run.kb_source})"
        f" · {run.seconds:.1f} s, {run.rows_per_second:,.0f} {w['speed']}",
        "",
        w["causes"],
        *_table([(category_label(x.key, lang), x.count, x.share, x.key) for x in s.by_category()]),
        "",
        w["owners"],
        *_table([(owner_label(x.key, lang), x.count, x.share, "") for x in s.by_owner()]),
        "",
        w["top_rules"],
        *_table([(x.key, x.count, x.share, info[2]) for x, info in s.top_rules(top)], 48),
        "",
        w["unmatched"],
        *_table([(x.key, x.count, x.share, "") for x in s.top_unmatched(top)], 60),
        "",
        w["request_problems"],
        *_table([(request_label(key), n, share, "") for key, n, share in s.top_request_problems(top)], 80),
    ]
    for name in DIMENSIONS:
        rows = s.breakdown(name, top if name != "retries" else None)
        lines += ["", f"{w['by_' + name]} ({w['top_cause']})" + (" *" if name in s.approximate else "")]
        lines += _table([(_key_label(x.key, lang), x.count, x.share,
                          f"{category_label(x.top, lang)} {x.top_count:,}") for x in rows], 48)
    retried, causes = s.retried()
    lines += ["", f"{w['retried']}: {retried:,} {w['rows']} ({_pct(s.share(retried)).strip()} {w['of_rows']})"]
    lines += _table([(category_label(x.key, lang), x.count, x.share, x.key) for x in causes[:top]])
    if s.approximate:
        lines += ["", f"* {w['approximate']}"]
    return "\n".join(lines) + "\n"


# -- HTML -----------------------------------------------------------------------------


@cache
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = lambda share: f"{100 * share:.1f}%"
    env.filters["num"] = lambda n: f"{n:,}"
    return env


def _bars(shares: list[Share], lang: str) -> dict:
    """Geometry of the horizontal bar chart of causes (inline SVG)."""
    label_w, bar_w, row_h = 260, 420, 26
    top = max((x.share for x in shares), default=1.0) or 1.0
    bars = [{"label": category_label(x.key, lang), "key": x.key, "count": x.count, "share": x.share,
             "y": i * row_h, "width": max(1.0, round(bar_w * x.share / top, 1)), "row_h": row_h}
            for i, x in enumerate(shares)]
    return {"bars": bars, "label_w": label_w, "bar_w": bar_w, "width": label_w + bar_w + 90,
            "height": max(row_h, len(bars) * row_h)}


def render_html(run, lang: str = "en", top: int = TOP) -> str:
    s: Summary = run.summary.masked()
    retried, retried_causes = s.retried()
    breakdowns = [
        {"name": name, "title": words(lang)["by_" + name], "approximate": name in s.approximate,
         "rows": [{"key": _key_label(x.key, lang), "count": x.count, "share": x.share,
                   "top": category_label(x.top, lang), "top_key": x.top, "top_count": x.top_count}
                  for x in s.breakdown(name, top if name != "retries" else None)]}
        for name in DIMENSIONS
    ]
    return _environment().get_template("summary.html.j2").render(
        lang=_lang(lang), w=words(lang), b=board_labels(lang)["words"], run=run, s=s,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        chart=_bars(s.by_category(), lang),
        causes=[{"label": category_label(x.key, lang), "key": x.key, "count": x.count, "share": x.share}
                for x in s.by_category()],
        owners=[{"label": owner_label(x.key, lang), "key": x.key, "count": x.count, "share": x.share}
                for x in s.by_owner()],
        rules=[{"id": x.key, "count": x.count, "share": x.share, "category": category_label(info[0], lang),
                "title": info[2], "doc_url": info[3]} for x, info in s.top_rules(top)],
        unmatched=s.top_unmatched(top),
        request_problems=[{"key": request_label(key), "count": n, "share": share}
                          for key, n, share in s.top_request_problems(top)],
        breakdowns=breakdowns,
        retried=retried, retried_share=s.share(retried),
        retried_causes=[{"label": category_label(x.key, lang), "key": x.key, "count": x.count, "share": x.share}
                        for x in retried_causes[:top]],
        rejects=[{"line": r.line, "reason": redact_text(r.reason)} for r in run.rejects[:50]],
        board=embed(board_data(run.board, lang)) if run.board is not None else None,
        board_js=board_assets()[0], board_css=board_assets()[1],
    )


def write_html(run, path: Path | str, lang: str = "en") -> Path:
    path = Path(path)
    path.write_text(render_html(run, lang), encoding="utf-8")
    return path
