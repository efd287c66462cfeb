"""Masks buyers' personal data and credentials in anything opsdiag stores or logs.

Marketplace responses carry buyers' names, phone numbers, e-mail and street addresses,
and the requests an ERP sent carry access tokens and signatures. opsdiag keeps none of
them: the audit log (rule examples), the samples of unmatched errors and every log line
go through `redact` (JSON-like values) or `redact_text` (free text) first. Nothing here
knows about Flask: the store, curation and the service all use it.

Two ways to find what to mask:

- **By key** (`classify`): a value under a key that names personal data or a secret is
  replaced whole, keeping the key, e.g. ``{"buyer_email": "[email]"}``. Keys are read in
  any case and in snake, camel or kebab style (`buyerName`, `x-tts-access-token`,
  `AddressLine1`). A key that names a person or an address (`recipient_address`,
  `buyer`, `customer`, `shipping_address`...) masks everything under it, so a postal code
  or a city is masked inside an address and left alone elsewhere (a warehouse's postal
  code in a rate query is not personal data). A bare `name` is a person's name unless it
  sits under a product, SKU, attribute, brand, warehouse, shop... object.
- **By value** (`redact_text`), in every other string: e-mail addresses; phone numbers
  (international `+NN`/`00NN` forms of any country and Chinese numbers with or without
  `+86`, found and validated with Google's libphonenumber, plus local numbers of the
  region the caller names); Chinese resident ID numbers (18 characters, birth date and
  ISO 7064 checksum checked); Taiwan, Singapore, Malaysian, Thai, Brazilian (CPF) and
  Indonesian (NIK) ID numbers in their checked formats; card numbers (Luhn and issuer
  prefix); `Bearer`/`Basic` credentials, JWTs, AWS access key ids, Amazon LWA tokens,
  opsdiag API keys; `key=value` pairs (URLs, query strings, form bodies) and quoted
  `"key": "value"` pairs whose key is sensitive; names after a person cue, quoted or
  capitalised ("recipient name 'Jane Roe'", "consignee Siti Rahman blocked", "收件人：张三");
  a Chinese name standing alone (2-4 characters beginning with a common surname, with
  no other Chinese character around it).

What is deliberately **not** masked, because diagnosing needs it and it identifies no
person: field *names* in messages ("missing required field: shipping_address.postal_code"),
error codes, HTTP statuses, request ids, shop ids and shop ciphers, app keys (public
identifiers sent in every URL), SKU and product ids, timestamps and **order ids**. An
order id names a transaction, not a buyer; a person can only be found from it with the
seller's own credentials, which opsdiag never keeps; and ERPs quote order ids in every
error ("order 576461413038785752 cannot be shipped"), so masking them would blind the
diagnosis. Free-text names without a cue (e.g. "Jane Roe" alone in a message, or 李明 run
into a Chinese sentence) cannot be told from other words without a language model; they
are masked when they come under a name key, which is where marketplaces put them.

Masks are labels in brackets (`[name]`, `[phone]`, `[email]`, `[address]`, `[id]`,
`[card]`, `[personal]`, `[secret]`): they hold no digit, so masking is idempotent.
"""

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import phonenumbers
from drain3.masking import LogMasker, MaskingInstruction
from phonenumbers import Leniency, PhoneNumberMatcher

from . import jsontext

NAME, PHONE, EMAIL, ADDRESS, ID, CARD, PERSONAL, SECRET = (
    "name", "phone", "email", "address", "id", "card", "personal", "secret")
KINDS = (NAME, PHONE, EMAIL, ADDRESS, ID, CARD, PERSONAL, SECRET)
DEFAULT_REGIONS = ("CN",)
MAX_DEPTH = 64
MAX_JSON_STRING = 256 * 1024


def label(kind: str) -> str:
    return f"[{kind}]"


# --------------------------------------------------------------------- by key

_SPLIT = re.compile(r"[^A-Za-z0-9]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

_SECRET_ANY = frozenset({"secret", "secrets", "password", "passwd", "pwd", "passphrase", "cookie", "cookies"})
_SECRET_LAST = frozenset({"token", "tokens", "sign", "signature", "sig", "authorization", "credential",
                          "credentials", "apikey", "jwt"})
_SECRET_FLAT = frozenset({"apikey", "xapikey", "partnerkey", "secretkey", "privatekey", "accesskey",
                          "accesskeyid", "secretaccesskey", "sessionkey", "session", "sessionid", "authcode",
                          "authorizationcode", "codeverifier", "otp", "pin", "cvv", "cvc"})
_NOT_CREDENTIAL = frozenset({"next", "page", "pagination", "continuation", "cursor", "sync", "idempotency"})
_RECORD_REF = frozenset({"id", "ids", "type", "types", "count"})  # address_id points at a record, names nobody
_PHONE = frozenset({"phone", "phones", "mobile", "mobiles", "telephone", "tel", "cellphone", "fax", "whatsapp",
                    "msisdn", "phonenumber", "mobileno", "telno"})
_NAME_LAST = frozenset({"name", "names", "fullname", "firstname", "lastname", "surname", "givenname",
                        "familyname", "middlename", "realname", "nickname", "username"})
_NAME_SINGLE = frozenset({"fullname", "firstname", "lastname", "surname", "givenname", "familyname",
                          "middlename", "realname", "nickname", "username", "consignee", "addressee"})
_PERSON_PREFIX = frozenset({"full", "first", "last", "given", "family", "middle", "real", "legal", "nick", "user",
                            "buyer", "recipient", "receiver", "customer", "contact", "consignee", "person",
                            "addressee", "cardholder", "holder", "account", "billing", "shipping"})
# A key holding one of these (or an address) is about a person: everything under it is masked.
_PERSON_OBJECT = frozenset({"recipient", "recipients", "receiver", "receivers", "consignee", "buyer", "buyers",
                            "customer", "customers", "addressee", "shipto", "billto", "shipfrom", "cardholder"})
_ADDRESS = frozenset({"address", "addresses", "addr", "street", "streets", "shipto", "billto", "shipfrom"})
# A bare `name` under these objects names a thing, not a person.
_THING = frozenset({
    "product", "products", "sku", "skus", "item", "items", "category", "categories", "attribute",
    "attributes", "brand", "brands", "warehouse", "warehouses", "shop", "shops", "store", "stores", "seller",
    "sellers", "carrier", "carriers", "provider", "providers", "logistics", "template", "templates", "field",
    "fields", "param", "params", "parameter", "parameters", "error", "errors", "app", "apps", "file", "files",
    "image", "images", "package", "packages", "variant", "variants", "option", "options", "tag", "tags",
    "property", "properties", "spec", "specs", "value", "values", "channel", "channels", "marketplace",
    "marketplaces", "region", "regions", "service", "services", "api", "event", "events", "method", "feature",
    "features", "certification", "certifications", "promotion", "promotions", "campaign", "campaigns",
    "collection", "collections", "model", "models", "unit", "units", "document", "documents", "qualification",
    "qualifications", "rule", "rules", "resource", "resources", "scope", "scopes", "permission", "permissions",
    "header", "headers", "currency", "country", "city", "state", "district", "province", "tax", "fee", "fees",
})


def key_tokens(key: Any) -> tuple[str, ...]:
    """`x-tts-access-token` -> (x, tts, access, token); `AddressLine1` -> (address, line, 1)."""
    out: list[str] = []
    for part in _SPLIT.split(str(key)):
        out.extend(t.lower() for t in _CAMEL.findall(part))
    return tuple(out)


def _is_id_number(tokens: tuple[str, ...], flat: str) -> bool:
    words = set(tokens)
    if words & {"identity", "passport", "ssn", "cpf", "cnpj", "nik", "ktp", "nric", "mykad", "dni", "nif",
                "curp", "taxpayer", "idcard", "idnumber", "idno", "hkid", "citizenship"}:
        return True
    if "id" in words and words & {"card", "number", "no", "num", "national", "citizen", "personal", "tax",
                                  "resident", "gov", "government"}:
        return True
    if "tax" in words and words & {"number", "no", "code", "registration"} and "rate" not in words:
        return True
    return flat in {"tin", "vatnumber", "socialsecuritynumber", "nationalid", "nationalidentitynumber",
                    "documentnumber", "documentno", "idnum"}


@lru_cache(maxsize=4096)
def _classify(key: str, parent: str) -> str | None:
    tokens = key_tokens(key)
    if not tokens:
        return None
    flat, last = "".join(tokens), tokens[-1]
    # a verb and its preposition are one word: ship_to, ShipTo, shipTo, bill_to, shipFrom
    words = set(tokens) | {a + b for a, b in zip(tokens, tokens[1:], strict=False) if b in ("to", "from")}
    if words & _SECRET_ANY or flat in _SECRET_FLAT or flat.endswith("accesstoken"):
        return SECRET
    if last in _SECRET_LAST and not (last in ("token", "tokens") and words & _NOT_CREDENTIAL):
        return SECRET
    if "email" in flat or last == "mail":
        return EMAIL
    if words & _PHONE or flat in _PHONE:
        return PHONE
    if _is_id_number(tokens, flat):
        return ID
    if (words & _ADDRESS or "address" in flat) and last not in _RECORD_REF:
        return ADDRESS
    if flat in _NAME_SINGLE:
        return NAME
    if last in _NAME_LAST:
        if len(tokens) == 1:
            return None if set(key_tokens(parent)) & _THING else NAME
        if set(tokens[:-1]) & _PERSON_PREFIX:
            return NAME
    if words & _PERSON_OBJECT:
        return PERSONAL
    return None


def classify(key: Any, parent: Any = "") -> str | None:
    """The kind of data a value under `key` is (inside an object under `parent`), or None."""
    return _classify(str(key), str(parent or ""))


# -------------------------------------------------------------------- by value

_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
                    r"(?![A-Za-z0-9-])")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*", re.ASCII)
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic|digest)(\s+)([A-Za-z0-9._~+/=|:-]{8,})", re.ASCII)
_TOKEN_WORD = re.compile(r"(?i)\b(token)(\s+)([A-Za-z0-9._~+/=|:-]{8,})", re.ASCII)
_KNOWN_SECRETS = re.compile(
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key id
    r"|\bAtz[ar]\|[A-Za-z0-9_.\-+/=|]{8,}"  # Login with Amazon access / refresh token
    r"|\bodk_[0-9a-f]{6,}_[A-Za-z0-9_-]{16,}",  # opsdiag API key
    re.ASCII)
_KEY_EQUALS = re.compile(r"(?<![\w.\-\[])([A-Za-z][\w\-]{0,63})(=)([^&\s#\"'<>,;]*)", re.ASCII)
_KEY_QUOTED = re.compile(
    r"([\"'])([A-Za-z][\w\- ]{0,63})\1(\s*:\s*)(?:([\"'])((?:\\.|(?!\4).){0,2000}?)\4|(-?\d[\d.]*))", re.ASCII)
_KEY_COLON = re.compile(r"(?<![\w.\-])([A-Za-z][\w\-]{0,63})(\s*:\s*)([A-Za-z0-9._~+/=|\-]{8,})", re.ASCII)
_NAME_CUE = re.compile(
    r"(?i)(?<![\"'\w])((?:(?:recipient|receiver|buyer|consignee|customer|contact|addressee|cardholder)"
    r"(?:[ _-]?name)?|(?:full|first|last|given|family|real)[ _-]?name)\s*(?:is|:|=)?\s*)"
    r"([\"'“‘「『])([^\s\"'”’」』:,][^\"'”’」』\n]{0,79})([\"'”’」』])", re.ASCII)
_NAME_CUE_ZH = re.compile(r"((?:收件人|收货人|寄件人|联系人|买家|客户|姓名|顾客)(?:姓名|名字)?\s*[:：]\s*)"
                          r"([\u4e00-\u9fff·]{2,4}|[A-Za-z][A-Za-z .'-]{0,38}[A-Za-z])")
_NAME_BARE = re.compile(
    r"(?<![\"'\w])((?i:recipient|receiver|buyer|consignee|customer|addressee|cardholder)"
    r"(?:[ _-]?(?i:name))?\s*(?:(?i:is)\s+|[:=]\s*|\s+))"
    r"((?:[A-Z][a-z'’-]+|[A-Z]\.)(?:\s+(?:[A-Z][a-z'’-]+|[A-Z]\.|bin|binti|van|von|de|da|al)){0,4})(?![\w])")
_NOT_A_NAME = frozenset({
    "Service", "Services", "Support", "Protection", "Center", "Centre", "Account", "Accounts", "Address",
    "Information", "Info", "Phone", "Email", "Name", "Names", "Id", "Type", "Order", "Orders", "Request", "Message",
    "Note", "Notes", "Not", "No", "Is", "The", "A", "An", "Has", "Have", "Cancelled", "Canceled", "Cancel",
    "Data", "Details", "Detail", "Status", "Side", "Tax", "Country", "Region", "Feedback", "Rating", "Review",
    "Reviews", "Level", "Group", "Portal", "Care", "Code", "Number", "Must", "Should", "Cannot", "Can", "Does",
    "Did", "Was", "Field", "Fields", "Identity", "Paid", "Payment", "Confirmed", "Requested", "Returned",
})
# Street addresses without a cue word, as order errors quote them: a house number and a
# capitalised street name ending in a street type ("221B Baker Street", "1600 Amphitheatre
# Parkway"); a street named by its local word ("Jalan Ampang", "Jl. Sudirman No. 12",
# "Soi 5", "Rua Augusta"); flat, unit and suite numbers; UK postcodes and US state + ZIP;
# a Chinese address from its province, city or district down to the house number (号).
_STREET_TYPE = (r"(?:Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|Parkway|"
                r"Pkwy|Highway|Hwy|Terrace|Close|Crescent|Square|Sq|Row|Alley|Circle|Cir)")
_STREET = re.compile(
    r"(?<![\w-])\d{1,6}[A-Za-z]?(?:[-/]\d{1,5}[A-Za-z]?)?,?\s+(?:[A-Z][A-Za-z'’.-]*\s+){1,4}"
    + _STREET_TYPE + r"\b\.?")
_STREET_LOCAL = re.compile(
    r"\b(?:Jalan|Jln\.?|Jl\.|Lorong|Soi|Thanon|Đường|Duong|Calle|Rua|Avenida|Av\.|Via|Rue)\s+"
    r"[A-Z0-9À-Ý][\w'’.-]*(?:\s+(?:[A-Z0-9À-Ý][\w'’.-]*|No\.?\s*\d+\w?)){0,4}")
_UNIT = re.compile(r"\b(?:Flat|Apt\.?|Apartment|Unit|Suite|Room|Floor|Block|Blk)\s*#?\d{1,5}[A-Za-z]?\b")
_POSTCODE = re.compile(r"(?<![\w-])(?:[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}|[A-Z]{2}\s\d{5}(?:-\d{4})?)(?![\w-])")
_CN_ADDRESS = re.compile(
    r"(?:[\u4e00-\u9fff]{2,7}(?:省|自治区))?(?:[\u4e00-\u9fff]{2,7}市)?(?:[\u4e00-\u9fff]{1,7}(?:区|县|旗|镇|乡))?"
    r"[\u4e00-\u9fff\d]{1,14}(?:路|街|巷|大道|弄|胡同|道)[\u4e00-\u9fff\d]{0,8}?\d+号"
    r"(?:[\d\u4e00-\u9fff-]{0,12}(?:室|栋|楼|单元|座))?"
    r"|[\u4e00-\u9fff]{2,7}(?:省|自治区)[\u4e00-\u9fff]{2,7}市(?:[\u4e00-\u9fff]{1,7}(?:区|县))?"
    r"|[\u4e00-\u9fff]{2,7}市[\u4e00-\u9fff]{1,7}(?:区|县)")
# A name after the words an order error puts before the person it is for.
_NAME_AFTER_ORDER = re.compile(
    r"(?<![\w])((?i:order(?:ed)?\s+(?:for|by)|ship(?:ped|ping)?\s+to|deliver(?:ed|y)?\s+to|bill(?:ed)?\s+to|"
    r"sold\s+to|sent\s+to)\s+)((?:[A-Z][a-z'’-]+)(?:\s+(?:[A-Z][a-z'’-]+|bin|binti|van|von|de|da|al)){1,3})"
    r"(?![\w])")


def _mask_addresses(text: str) -> str:
    for pattern in (_STREET, _STREET_LOCAL, _UNIT, _POSTCODE):
        text = pattern.sub(label(ADDRESS), text)
    return _CN_ADDRESS.sub(label(ADDRESS), text)


def _name_after_order(match: re.Match) -> str:
    words = match.group(2).split()
    if any(word in _NOT_A_NAME for word in words):
        return match.group(0)
    return f"{match.group(1)}{label(NAME)}"


# Common Chinese surnames (compound ones first). Characters that also begin everyday words
# in error messages (金额, 付款, 程序, 方法, 任务, 高风险...) are left out on purpose.
_CN_SURNAMES = (
    "欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|长孙|宇文|司徒|夏侯|令狐|"
    "[李王张刘陈杨黄赵吴周徐孙朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖董袁潘蒋蔡杜叶苏魏吕沈姚卢姜崔钟谭陆汪"
    "廖贾韦邹孟熊邱尹薛闫雷侯陶黎贺顾毛郝龚邵钱严覃戴莫孔汤]"
)
_CN_NAME_ALONE = re.compile(r"(?<![\u3400-\u9fff])(?:" + _CN_SURNAMES + r")[\u4e00-\u9fff]{1,2}(?![\u3400-\u9fff])")
_CN_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
                    r"\d{3}[0-9Xx](?![0-9A-Za-z])")
_TW_ID = re.compile(r"(?<![0-9A-Za-z])[A-Z][12]\d{8}(?![0-9A-Za-z])")
_SG_ID = re.compile(r"(?<![0-9A-Za-z])[STFGM]\d{7}[A-Z](?![0-9A-Za-z])")
_MY_ID = re.compile(r"(?<![\d-])\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])-\d{2}-\d{4}(?![\d-])")
_TH_ID = re.compile(r"(?<![\d-])\d-\d{4}-\d{5}-\d{2}-\d(?![\d-])")
_CPF = re.compile(r"(?<![\d.])\d{3}\.\d{3}\.\d{3}-\d{2}(?![\d-])")
_NIK = re.compile(r"(?<![0-9A-Za-z])(?:1[1-9]|21|3[1-6]|5[1-3]|6[1-5]|7[1-6]|8[12]|9[1-4])\d{4}"
                  r"(?:[04][1-9]|[1256]\d|[37][01])(?:0[1-9]|1[0-2])\d{2}\d{4}(?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9A-Za-z-])\d(?:[ -]?\d){12,18}(?![0-9A-Za-z])")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")
_PHONE_HINT = re.compile(r"(?<![A-Za-z0-9])\d(?:[\s\-().]{0,3}\d){6,}(?![A-Za-z0-9])")


def _cn_id_ok(text: str) -> bool:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(text[:17], weights, strict=True))
    return "10X98765432"[total % 11] == text[17].upper()


def _tw_id_ok(text: str) -> bool:
    letters = "ABCDEFGHJKLMNPQRSTUVXYWZIO"
    n = letters.index(text[0]) + 10
    digits = [n // 10, n % 10, *map(int, text[1:])]
    weights = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)
    return sum(d * w for d, w in zip(digits, weights, strict=True)) % 10 == 0


def _sg_id_ok(text: str) -> bool:
    weights = (2, 7, 6, 5, 4, 3, 2)
    total = sum(int(d) * w for d, w in zip(text[1:8], weights, strict=True))
    first = text[0]
    if first in "TG":
        total += 4
    elif first == "M":
        total += 3
    table = {"S": "JZIHGFEDCBA", "T": "JZIHGFEDCBA", "F": "XWUTRQPNMLK", "G": "XWUTRQPNMLK",
             "M": "KLJNPQRTUWX"}[first]
    return table[total % 11] == text[8]


def _th_id_ok(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()]
    total = sum(d * (13 - i) for i, d in enumerate(digits[:12]))
    return (11 - total % 11) % 10 == digits[12]


def _cpf_ok(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()]
    if len(set(digits)) == 1:
        return False
    for n in (9, 10):
        total = sum(d * (n + 1 - i) for i, d in enumerate(digits[:n]))
        if (total * 10 % 11) % 10 != digits[n]:
            return False
    return True


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_ok(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    if not _luhn_ok(digits):
        return False
    if len(digits) == 15:
        return digits[:2] in ("34", "37")
    if len(digits) == 16:
        return digits[0] in "456" or "2221" <= digits[:4] <= "2720" or digits[:2] == "35"
    return len(digits) == 19 and digits[:2] == "62" and (" " in text or "-" in text)


def _checked(pattern: re.Pattern, ok, kind: str, text: str) -> str:
    return pattern.sub(lambda m: label(kind) if ok(m.group(0)) else m.group(0), text)


def _mask_pairs(text: str) -> str:
    def equals(m: re.Match) -> str:
        kind = classify(m.group(1))
        return m.group(0) if kind is None or not m.group(3) else f"{m.group(1)}={label(kind)}"

    def quoted(m: re.Match) -> str:
        kind = classify(m.group(2))
        if kind is None:
            return m.group(0)
        key = f"{m.group(1)}{m.group(2)}{m.group(1)}{m.group(3)}"
        if m.group(4):
            return f"{key}{m.group(4)}{label(kind)}{m.group(4)}" if m.group(5) else m.group(0)
        return f'{key}"{label(kind)}"'

    def colon(m: re.Match) -> str:
        value = m.group(3)
        if classify(m.group(1)) != SECRET or not (len(value) >= 16 or re.search(r"\d", value)):
            return m.group(0)
        return f"{m.group(1)}{m.group(2)}{label(SECRET)}"

    text = _KEY_QUOTED.sub(quoted, text)
    text = _KEY_EQUALS.sub(equals, text)
    return _KEY_COLON.sub(colon, text)


def _mask_phones(text: str, regions: tuple[str, ...]) -> str:
    if not _PHONE_HINT.search(text):
        return text
    spans: list[tuple[int, int]] = []
    for region in regions:
        for match in PhoneNumberMatcher(text, region, leniency=Leniency.VALID):
            if _phone_ok(match):
                spans.append((match.start, match.end))
    if not spans:
        return text
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            start = last
            if start >= end:
                continue
        out.append(text[last:start])
        out.append(label(PHONE))
        last = end
    out.append(text[last:])
    return "".join(out)


def _phone_ok(match) -> bool:
    """International forms always; a national one only as a mobile or with its trunk 0.

    Without that, any 10-digit id starting with 10, 20 or 21 would read as a landline
    of Beijing, Guangzhou or Shanghai dialled without its 0.
    """
    raw = match.raw_string.lstrip("(")
    if raw.startswith(("+", "00", "0")):
        return True
    kind = phonenumbers.number_type(match.number)
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def _bare_name(m: re.Match) -> str:
    first = m.group(2).split()[0].rstrip(".")
    return m.group(0) if first in _NOT_A_NAME or (len(first) > 1 and first.isupper()) else f"{m.group(1)}{label(NAME)}"


def _secret_word(m: re.Match) -> str:
    value = m.group(3)
    if m.group(1).lower() == "token" and not (len(value) >= 20 or re.search(r"\d", value)):
        return m.group(0)
    return f"{m.group(1)}{m.group(2)}{label(SECRET)}"


def _redact_text(text: str, regions: tuple[str, ...]) -> str:
    text = _JWT.sub(label(SECRET), text)
    text = _KNOWN_SECRETS.sub(label(SECRET), text)
    text = _AUTH_SCHEME.sub(_secret_word, text)
    text = _TOKEN_WORD.sub(_secret_word, text)
    text = _mask_pairs(text)
    text = _EMAIL.sub(label(EMAIL), text)
    text = _mask_addresses(text)
    text = _NAME_AFTER_ORDER.sub(_name_after_order, text)
    text = _NAME_CUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{label(NAME)}{m.group(4)}", text)
    text = _NAME_CUE_ZH.sub(lambda m: f"{m.group(1)}{label(NAME)}", text)
    text = _NAME_BARE.sub(_bare_name, text)
    text = _CN_NAME_ALONE.sub(label(NAME), text)
    if any(c.isdigit() for c in text):
        text = _checked(_CN_ID, _cn_id_ok, ID, text)
        text = _checked(_TW_ID, _tw_id_ok, ID, text)
        text = _checked(_SG_ID, _sg_id_ok, ID, text)
        text = _checked(_TH_ID, _th_id_ok, ID, text)
        text = _checked(_CPF, _cpf_ok, ID, text)
        text = _MY_ID.sub(label(ID), text)
        text = _NIK.sub(label(ID), text)
        text = _checked(_CARD, _card_ok, CARD, text)
        text = _mask_phones(text, regions)
    return text


@lru_cache(maxsize=8192)
def _redact_text_cached(text: str, regions: tuple[str, ...]) -> str:
    return _redact_text(text, regions)


def _regions(regions: Iterable[str | None] | None) -> tuple[str, ...]:
    """The default (Chinese) formats, which are always found, and those of `regions`."""
    if regions is None:
        return DEFAULT_REGIONS
    out = list(DEFAULT_REGIONS)
    for region in regions:
        region = (region or "").upper()
        region = "GB" if region == "UK" else region
        if region in phonenumbers.SUPPORTED_REGIONS and region not in out:
            out.append(region)
    return tuple(out)


def redact_text(text: str, regions: Iterable[str | None] | None = None) -> str:
    """`text` with personal data and secrets found by their shape replaced by labels.

    `regions` (ISO 3166-1 alpha-2) adds local phone formats of those countries to the
    international and Chinese ones that are always found.
    """
    if not text:
        return text
    text = jsontext.clean(text)  # what is kept or shown is UTF-8, whoever built the string
    regions = _regions(regions)
    if len(text) <= 512:
        return _redact_text_cached(text, regions)
    return _redact_text(text, regions)


# ------------------------------------------------------------------ structures


def _mask_all(value: Any, kind: str, parent: str, depth: int) -> Any:
    """Everything under a key that names personal data or a secret, keeping the shape."""
    if depth > MAX_DEPTH:
        return label(kind)
    if isinstance(value, dict):
        return {k: _mask_all(v, _leaf_kind(k, parent, kind), str(k), depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_all(v, kind, parent, depth + 1) for v in value]
    if value is None or isinstance(value, bool) or value == "":
        return value
    if kind == ADDRESS and isinstance(value, str) and _URL.match(value):
        return redact_text(value)  # a callback or web address, not where someone lives
    return label(kind)


def _leaf_kind(key: Any, parent: str, inherited: str) -> str:
    kind = classify(key, parent)
    if kind is None or kind == PERSONAL or (inherited == SECRET and kind != SECRET):
        return inherited
    return kind


def _walk(value: Any, parent: str, regions: tuple[str, ...], depth: int) -> Any:
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            kind = classify(key, parent)
            out[key] = (_mask_all(item, kind, str(key), depth + 1) if kind
                        else _walk(item, str(key), regions, depth + 1))
        return out
    if isinstance(value, list | tuple):
        return [_walk(item, parent, regions, depth + 1) for item in value]
    if isinstance(value, str):
        return _redact_string(value, parent, regions, depth)
    return value


def _redact_string(value: str, parent: str, regions: tuple[str, ...], depth: int) -> str:
    stripped = value.strip()
    if stripped[:1] in ("{", "[") and len(value) <= MAX_JSON_STRING:
        try:
            parsed = jsontext.loads(value)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict | list):
            return json.dumps(_walk(parsed, parent, regions, depth + 1), ensure_ascii=False)
    return redact_text(value, regions)


def redact(value: Any, regions: Iterable[str | None] | None = None, key: str | None = None) -> Any:
    """A copy of a JSON-like value with personal data and secrets masked (see the module).

    `key`: the name the value is stored under, when it has one (a log record's field).
    """
    regions = _regions(regions)
    if key is not None:
        kind = classify(key)
        if kind:
            return _mask_all(value, kind, key, 0)
    return _walk(value, key or "", regions, 0)


def redact_payload(payload: dict) -> dict:
    """A /diagnose payload masked, with the local phone formats of its own region."""
    region = payload.get("region") if isinstance(payload, dict) else None
    return redact(payload, regions=("CN", region) if isinstance(region, str) else None)


def redact_rule(body: Any) -> Any:
    """A rule document with the payloads of its `examples` masked and its rule left as is.

    The conditions, texts and source of a rule are the curator's and hold field names
    and documented codes; its examples are error payloads, which may carry buyer data.
    """
    if not isinstance(body, dict) or not isinstance(body.get("examples"), dict):
        return body
    examples = {
        name: ([redact_payload(p) if isinstance(p, dict) else redact(p) for p in payloads]
               if isinstance(payloads, list) else redact(payloads))
        for name, payloads in body["examples"].items()
    }
    return {**body, "examples": examples}


# -- error shapes -------------------------------------------------------------------
# What varies between occurrences of one error, generalised after personal data is masked:
# the shape by which unexplained errors are counted (rules/kb/gaps.py) and a batch run groups
# its unmatched messages (service/batch/worker.py). drain3's masker, as its template miner uses.
# A code such as THD_IC_ERR_PRODUCT_036 is kept (its digits
# are part of a word), a request id or SKU code with 4+ digits becomes <ID>.
MASKING = [
    MaskingInstruction(r"(?<![A-Za-z0-9])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
                       r"(?![A-Za-z0-9])", "ID"),
    MaskingInstruction(r"(?<![A-Za-z0-9_-])(?=[0-9A-Fa-f]*\d)[0-9A-Fa-f]{16,}(?![A-Za-z0-9_-])", "ID"),
    MaskingInstruction(r"(?<![A-Za-z0-9_<-])(?=[A-Za-z0-9_-]*[A-Za-z])(?=(?:[A-Za-z_-]*\d){4})"
                       r"[A-Za-z0-9][A-Za-z0-9_-]{5,}(?![A-Za-z0-9_>-])", "ID"),
    MaskingInstruction(r"(?<![A-Za-z0-9_<.-])[-+]?\d+(?:\.\d+)?(?![A-Za-z0-9_>])", "NUM"),
]
_MASKER = LogMasker(MASKING, "<", ">")


def shape_text(masked_message: str) -> str:
    """A masked message with what varies between occurrences (numbers, ids) generalised."""
    return " ".join(_MASKER.mask(masked_message).split())


def message_shape(message: str, regions: Iterable[str] = (), limit: int = 200) -> str:
    """A message without personal data, ids or numbers, at most `limit` characters."""
    return shape_text(redact_text(message[:2000], regions))[:limit]
