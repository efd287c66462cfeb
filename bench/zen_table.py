"""The same rules as one ZEN Engine (GoRules, PyPI `zen-engine`) decision table.

Translation, rule by rule:
- one row per rule, rows in the order of their evidence weight (rules/engine/score.py; then
  priority, platform rules before generic ones, id), hit policy `first`, one output
  column `rule` holding the rule id: the first row that holds is the top answer
  (a table cannot weigh a rule's `unless` per payload: bench/engine.py compares ZEN's
  top answer only where no `unless` held);
- input columns `platform`, `region`, `domain`: `$ in [...]` for the rule's
  platforms, regions and domains, empty (any) for generic / "*";
- per value a rule tests (status, code, a header, a JMESPath into the body, ...) an
  input column `v<n>` with the value, plus `t<n>` with its text when some rule runs a
  regex on it, and `r<n>` with the raw value when some rule tests its JSON type;
- per condition a cell in ZEN's unary expression language: `$ == "x"`,
  `$ in [...]`, `$ != null and $ != "x"`, `type($) == "number" and $ >= 500`,
  `$ != null` (exists), `$ != null and matches($, "(?i)pattern")` (ZEN's `matches`
  searches with Rust's `regex` crate, linear-time like RE2; `(?i)` gives the
  case-insensitivity RE2 is compiled with), `$ == null or not matches(...)`, and
  for a JSON type `type($) == "string" or type($) == "array" and some($, ...)`;
  each operator of a condition has its own column (the j-th operator of the
  conditions on value n is column `v<n>.<j>` reading field `v<n>`), so that no cell
  needs parentheses: ZEN's unary cells read `(...)` as an interval such as `(1..5)`
  and a parenthesised `and` / `or` group never holds.
ZEN's expression language has no JMESPath, so the input object is built in Python:
each column's value is read with the same JMESPath (the `jmespath` package) and
coerced the same way as for the linear scan (bench/linear.py). That is what a team
adopting ZEN for these rules would write; the bench reports ZEN's evaluate call
alone as well, so the cost of building its input can be told apart.
"""

import json
import re

import zen

from rules.engine.compiler import as_text, scalar_for_engine

from .linear import _TEXT_MAPS, _reader, rank


def quote(text: str) -> str:
    """A ZEN string literal. ZEN keeps backslashes as they are and has no escapes, so
    the delimiter is one the text does not contain."""
    for left, right in (('"', '"'), ("'", "'")):
        if left not in text:
            return f"{left}{text}{right}"
    if "`" not in text and "${" not in text:
        return f"`{text}`"
    raise ValueError(f"no ZEN string literal can hold {text!r}")


def regex_literal(pattern: str) -> str:
    """A regex as a ZEN string: `"` delimited, each `"` of the pattern written `\\x22`
    (the same character to the regex engine)."""
    return '"' + re.sub(r'\\?"', lambda _: "\\x22", "(?i)" + pattern) + '"'


def literal(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return quote(str(value))


def _type_test(wanted: str) -> str:
    if wanted in ("integer",):
        raise ValueError("ZEN has one number type; `type: integer` has no translation")
    return f'type($) == "{wanted}" or type($) == "array" and some($, type(#) == "{wanted}")'


class ZenTable:
    def __init__(self, rules):
        self.columns: dict[tuple[str, str], int] = {}
        self.readers = []
        self.text_columns: set[int] = set()
        self.raw_columns: set[int] = set()
        self.table_columns: dict[str, str] = {}  # column id -> the input field it tests
        rows = []
        for rule in sorted(rules, key=rank):
            row = {
                "platform": "" if "generic" in rule.platforms else
                f"$ in [{', '.join(literal(p) for p in sorted(rule.platforms))}]",
                "region": "" if rule.regions is None else
                f"$ in [{', '.join(literal(r) for r in sorted(rule.regions))}]",
                "domain": "" if rule.domains is None else
                f"$ in [{', '.join(literal(d) for d in sorted(rule.domains))}]",
            }
            for cond in rule.conditions:
                n = self._column(cond.source, cond.name)
                for j, (op, operand) in enumerate(cond.ops):
                    kind, test = self._cell(op, operand, cond.source)
                    (self.text_columns if kind == "t" else self.raw_columns if kind == "r" else set()).add(n)
                    column = f"{kind}{n}.{j}"
                    self.table_columns.setdefault(column, f"{kind}{n}")
                    row[column] = test
            row["rule"] = quote(rule.id)
            rows.append(row)
        fields = ["platform", "region", "domain", *sorted(self.table_columns)]
        inputs = [{"id": f, "name": f, "field": self.table_columns.get(f, f)} for f in fields]
        table = {
            "hitPolicy": "first",
            "inputs": inputs,
            "outputs": [{"id": "rule", "name": "rule", "field": "rule"}],
            "rules": [{"_id": f"row{i}", **{f: row.get(f, "") for f in fields}, "rule": row["rule"]}
                      for i, row in enumerate(rows)],
        }
        self.graph = {
            "nodes": [
                {"id": "in", "type": "inputNode", "name": "error", "position": {"x": 0, "y": 0}},
                {"id": "table", "type": "decisionTableNode", "name": "rules", "position": {"x": 200, "y": 0},
                 "content": table},
                {"id": "out", "type": "outputNode", "name": "answer", "position": {"x": 400, "y": 0}},
            ],
            "edges": [{"id": "e1", "sourceId": "in", "targetId": "table", "type": "edge"},
                      {"id": "e2", "sourceId": "table", "targetId": "out", "type": "edge"}],
        }
        self.decision = zen.ZenEngine().create_decision(json.dumps(self.graph))
        self.row_count = len(rows)

    def _column(self, source: str, name: str) -> int:
        key = (source, name)
        if key not in self.columns:
            self.columns[key] = len(self.columns)
            self.readers.append(_reader(source, name))
        return self.columns[key]

    @staticmethod
    def _cell(op: str, operand, source: str) -> tuple[str, str]:
        if source in _TEXT_MAPS and op in ("eq", "ne", "in", "not_in"):
            from rules.engine.compiler import number_or_text
            operand = tuple(map(number_or_text, operand)) if isinstance(operand, tuple) else number_or_text(operand)
        if op == "regex":
            return "t", f"$ != null and matches($, {regex_literal(operand)})"
        if op == "not_regex":
            return "t", f"$ == null or not matches($, {regex_literal(operand)})"
        if op == "type":
            return "r", _type_test(operand)
        if op == "exists":
            return "v", "$ != null" if operand else "$ == null"
        if op == "eq":
            return "v", f"$ == {literal(operand)}"
        if op == "ne":
            return "v", f"$ != null and $ != {literal(operand)}"
        if op == "in":
            return "v", f"$ in [{', '.join(literal(x) for x in operand)}]"
        if op == "not_in":
            return "v", f"$ != null and not ($ in [{', '.join(literal(x) for x in operand)}])"
        symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        return "v", f'type($) == "number" and $ {symbol} {literal(operand)}'

    def input_of(self, fact) -> dict:
        data = {"platform": fact.platform, "region": fact.region, "domain": fact.domain}
        for n, read in enumerate(self.readers):
            raw = read(fact)
            data[f"v{n}"] = scalar_for_engine(raw)
            if n in self.text_columns:
                data[f"t{n}"] = as_text(raw)
            if n in self.raw_columns:
                data[f"r{n}"] = raw
        return data

    def evaluate(self, data: dict) -> str | None:
        return self.decision.evaluate(data)["result"].get("rule")

    def top(self, fact) -> str | None:
        return self.evaluate(self.input_of(fact))
