"""The console's own words, in English and Simplified Chinese.

Rule texts are not here: they come from each rule's `then.en` / `then.zh-CN`, and
diagnoses from the engine in the chosen language.
"""

from flask import request

from ..language import preferred_language

LANGUAGES = {"en": "English", "zh-CN": "简体中文"}

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "console": "opsdiag console",
        "nav_rules": "Rules",
        "nav_diagnose": "Try a payload",
        "nav_gaps": "Unmatched errors",
        "nav_board": "Errors board",
        "board_intro": "Upload an exported error log (CSV, JSONL or HAR, as opsdiag batch reads it): it is "
                       "diagnosed here and shown as a board to filter, open and export. Nothing is kept on the "
                       "server.",
        "board_file": "Error log",
        "board_columns": "Columns the header does not name (optional)",
        "board_run": "Diagnose",
        "board_busy": "Diagnosing…",
        "language": "Language",
        "key_label": "API key",
        "key_placeholder": "odk_…",
        "key_use": "Use key",
        "key_forget": "Forget key",
        "key_present": "Your API key is kept in this browser tab only.",
        "key_hint": "Paste an API key (role viewer or higher; editor to test rules). It stays in this "
                    "browser tab (sessionStorage) and is sent only in the Authorization header.",
        "key_missing": "Enter an API key above to see this page.",
        "key_refused": "The API key was refused (unknown or revoked). Enter another one.",
        "noscript": "The console needs JavaScript to send your API key in a request header.",
        "filters": "Filters",
        "platform": "Platform",
        "region": "Region",
        "domain": "Domain",
        "status": "Status",
        "search": "Text",
        "any": "any",
        "apply": "Apply",
        "reset": "Reset",
        "rules_found": "{count} rules",
        "no_rules": "No rule matches these filters.",
        "rule": "Rule",
        "category": "Category",
        "owner": "Owner",
        "priority": "Priority",
        "platforms": "Platforms",
        "regions": "Regions",
        "domains": "Domains",
        "file": "File",
        "explanation": "Explanation",
        "repair_steps": "What to do",
        "doc_link": "Platform documentation",
        "source": "Source",
        "conditions": "Conditions (all must hold)",
        "field": "Field",
        "condition": "Condition",
        "examples": "Examples",
        "examples_match": "Payloads it must answer",
        "examples_no_match": "Near misses it must not match",
        "try_example": "Try this example",
        "deleted": "This rule is deleted in the drafts.",
        "no_text": "(no text in this language)",
        "try_rule": "Try a payload against this rule",
        "try_any": "Paste a failed API call (a /diagnose payload) to see what opsdiag answers.",
        "payload": "Payload (JSON)",
        "run_test": "Test",
        "run_diagnose": "Diagnose",
        "result": "Result",
        "rule_matched": "This rule matched.",
        "rule_not_matched": "This rule did not match.",
        "rule_top": "It is the first diagnosis.",
        "rule_not_top": "Another rule ranks first.",
        "trace": "Conditions, one by one",
        "operator": "Operator",
        "expected": "Expected",
        "actual": "Actual",
        "passed": "Passed",
        "yes": "yes",
        "no": "no",
        "diagnosis": "Diagnosis",
        "diagnoses": "Diagnoses, best first",
        "matched_any": "A rule matched.",
        "matched_none": "No rule matched.",
        "confidence": "Confidence",
        "evidence": "Evidence",
        "inferred": "inferred",
        "kb_version": "Knowledge-base version",
        "payload_not_json": "The payload is not valid JSON: {error}",
        "payload_not_object": "The payload must be a JSON object.",
        "payload_missing": "Paste a payload first.",
        "invalid_fields": "Invalid fields",
        "needs_role": "Your key's role may not do this: {detail}",
        "error": "The admin API answered {status}: {title}",
        "not_found": "No rule {rule_id}.",
        "no_admin": "This instance has no rule store, so no admin API: only “Try a payload” works.",
        "gaps_title": "Top unmatched error shapes",
        "gaps_intro": "Errors no rule answered, grouped by shape, most frequent first: candidates for new rules.",
        "gaps_empty": "No data yet: no unmatched errors have been recorded.",
        "template": "Shape",
        "count": "Count",
        "code": "Code",
        "last_seen": "Last seen",
        "example": "Example",
        "draft_rule": "Draft rule",
        "limit": "Show",
        "owner_integrator": "integrator (the calling system)",
        "owner_seller": "seller (the shop account)",
        "owner_platform": "platform (the marketplace)",
        "owner_network": "network",
        "owner_unknown": "unknown",
    },
    "zh-CN": {
        "console": "opsdiag 控制台",
        "nav_rules": "规则",
        "nav_diagnose": "试一个报错",
        "nav_gaps": "未匹配的错误",
        "nav_board": "错误看板",
        "board_intro": "上传导出的错误日志（CSV、JSONL 或 HAR，格式同 opsdiag batch）："
                       "在此诊断并以看板显示，可筛选、查看和导出。服务器不保存任何内容。",
        "board_file": "错误日志",
        "board_columns": "表头未能识别的列（可选）",
        "board_run": "诊断",
        "board_busy": "正在诊断…",
        "language": "语言",
        "key_label": "API 密钥",
        "key_placeholder": "odk_…",
        "key_use": "使用密钥",
        "key_forget": "清除密钥",
        "key_present": "API 密钥只保存在当前浏览器标签页中。",
        "key_hint": "粘贴 API 密钥（viewer 及以上角色；测试规则需要 editor）。密钥只保存在当前浏览器标签页"
                    "（sessionStorage），只通过 Authorization 请求头发送。",
        "key_missing": "请先在上方输入 API 密钥。",
        "key_refused": "API 密钥被拒绝（不存在或已吊销），请换一个。",
        "noscript": "控制台需要 JavaScript 才能在请求头中发送 API 密钥。",
        "filters": "筛选",
        "platform": "平台",
        "region": "地区",
        "domain": "业务域",
        "status": "状态",
        "search": "文本",
        "any": "全部",
        "apply": "筛选",
        "reset": "重置",
        "rules_found": "共 {count} 条规则",
        "no_rules": "没有符合条件的规则。",
        "rule": "规则",
        "category": "类别",
        "owner": "责任方",
        "priority": "优先级",
        "platforms": "平台",
        "regions": "地区",
        "domains": "业务域",
        "file": "文件",
        "explanation": "说明",
        "repair_steps": "处理步骤",
        "doc_link": "平台官方文档",
        "source": "来源",
        "conditions": "条件（须全部满足）",
        "field": "字段",
        "condition": "条件",
        "examples": "示例",
        "examples_match": "必须命中的报错",
        "examples_no_match": "不得命中的相似报错",
        "try_example": "用这个示例测试",
        "deleted": "该规则已在草稿中删除。",
        "no_text": "（该语言暂无文本）",
        "try_rule": "用报错测试这条规则",
        "try_any": "粘贴一次失败的 API 调用（/diagnose 的请求体），查看 opsdiag 的诊断结果。",
        "payload": "报错内容（JSON）",
        "run_test": "测试",
        "run_diagnose": "诊断",
        "result": "结果",
        "rule_matched": "这条规则命中了。",
        "rule_not_matched": "这条规则没有命中。",
        "rule_top": "它是排名第一的诊断。",
        "rule_not_top": "排名第一的是另一条规则。",
        "trace": "逐条条件",
        "operator": "运算符",
        "expected": "期望值",
        "actual": "实际值",
        "passed": "通过",
        "yes": "是",
        "no": "否",
        "diagnosis": "诊断",
        "diagnoses": "诊断结果（按可能性排序）",
        "matched_any": "有规则命中。",
        "matched_none": "没有规则命中。",
        "confidence": "置信度",
        "evidence": "依据",
        "inferred": "推断",
        "kb_version": "知识库版本",
        "payload_not_json": "报错内容不是有效的 JSON：{error}",
        "payload_not_object": "报错内容必须是 JSON 对象。",
        "payload_missing": "请先粘贴报错内容。",
        "invalid_fields": "无效字段",
        "needs_role": "你的密钥角色无权执行此操作：{detail}",
        "error": "管理 API 返回 {status}：{title}",
        "not_found": "没有规则 {rule_id}。",
        "no_admin": "此实例没有规则库，因此没有管理 API：只能使用“试一个报错”。",
        "gaps_title": "最常见的未匹配错误",
        "gaps_intro": "没有任何规则能回答的错误，按形态分组、按次数排序：可据此编写新规则。",
        "gaps_empty": "暂无数据：还没有记录到未匹配的错误。",
        "template": "形态",
        "count": "次数",
        "code": "错误码",
        "last_seen": "最近出现",
        "example": "示例",
        "draft_rule": "规则草稿",
        "limit": "显示",
        "owner_integrator": "对接方（调用系统）",
        "owner_seller": "卖家（店铺账号）",
        "owner_platform": "平台方",
        "owner_network": "网络",
        "owner_unknown": "未知",
    },
}


def chosen_language() -> str:
    """`?lang=` when it names a language of the console, else the Accept-Language header."""
    asked = request.args.get("lang", "")
    if asked in TEXTS:
        return asked
    if asked.lower().startswith("zh"):
        return "zh-CN"
    if asked.lower().startswith("en"):
        return "en"
    return preferred_language()  # as POST /diagnose reads it


class Texts:
    """`t.name` in templates; `t("name", count=3)` formats."""

    def __init__(self, lang: str):
        self.lang = lang
        self._texts = TEXTS[lang]

    def __getattr__(self, name: str) -> str:
        try:
            return self._texts[name]
        except KeyError:
            return TEXTS["en"].get(name, name)

    def __call__(self, name: str, **values) -> str:
        return getattr(self, name).format(**values)
