"""service/batch/readers.py on its own: the line number each record is reported under is
the line of the file it starts on, whatever came before it (blank lines, a header spread
over lines, a record with line breaks in a quoted cell, a line the csv module refused)."""

import json
from pathlib import Path

import pytest

from service.batch.readers import InputError, InputFile, ReadError, _delimiter, detect_encoding, detect_format

HEADER = "api_endpoint,http_status,error_message"


def records(tmp_path, text: str, name: str = "errors.csv", **given) -> list:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    with InputFile(path, **given) as f:
        return [record for chunk in f.chunks(2) for record in chunk]


def test_records_are_numbered_by_the_line_they_start_on(tmp_path):
    text = f'{HEADER}\n/a,400,one\n/b,401,"two\nlines"\n\n/c,402,three\r\n'
    assert records(tmp_path, text) == [(2, "/a,400,one"), (3, '/b,401,"two\nlines"'), (6, "/c,402,three")]


def test_blank_lines_before_the_header_count(tmp_path):
    assert records(tmp_path, f"\n \n\r\n{HEADER}\n/a,400,one\n\n/b,401,two\n") == [(5, "/a,400,one"),
                                                                                   (7, "/b,401,two")]


def test_a_header_name_quoted_over_two_lines_counts_both(tmp_path):
    text = '\napi_endpoint,http_status,"error\nmessage"\n/a,400,one\n'
    assert records(tmp_path, text) == [(4, "/a,400,one")]


def test_a_line_the_csv_module_refuses_is_a_read_error_under_its_number(tmp_path):
    [(line, error)] = records(tmp_path, f'\n{HEADER}\n/a,400,"never closed\n')
    assert line == 3 and isinstance(error, ReadError) and error.reason.startswith("CSV: ")


def test_the_delimiter_is_read_off_the_header(tmp_path):
    text = "api_endpoint;http_status;error_message\n/a;400;one, two\n"
    path = tmp_path / "errors.csv"
    path.write_text(text, encoding="utf-8")
    with InputFile(path) as f:
        assert [r for c in f.chunks(10) for r in c] == [(2, "/a;400;one, two")]
        assert f.layout.delimiter == ";"


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"), ("\n\n  \n", "the file is empty"),
    ('\n\napi_endpoint,"http_status\n', "line 3: the header cannot be read"),
    ("error_message,retry_count\n/a,1\n", "http_status"),
])
def test_a_file_that_cannot_be_read_says_why(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        records(tmp_path, text)


def test_jsonl_lines_keep_their_numbers_and_blank_lines_are_skipped(tmp_path):
    text = '\ufeff{"status": 400}\n\n  \n{"status": 401}\n'
    assert records(tmp_path, text, "errors.jsonl") == [(1, '{"status": 400}\n'), (4, '{"status": 401}\n')]


# -- encoding and format -------------------------------------------------------------------

CHINESE = "error_id,error_message\r\nE1,服务器内部错误，库存同步失败，请稍后重试\r\n" * 3


@pytest.mark.parametrize("encoded, name", [
    (CHINESE.encode("utf-8-sig"), "utf-8-sig"), (CHINESE.encode("utf-16"), "utf-16"),
    (CHINESE.encode("utf-32"), "utf-32"), ("\ufeffab".encode("utf-16-be"), "utf-16"),
    (CHINESE.encode("utf-16-le"), "utf-16-le"), (CHINESE.encode("utf-16-be"), "utf-16-be"),
    (CHINESE.encode("utf-8"), "utf-8"), (CHINESE.encode("gb18030"), "gb18030"), (CHINESE.encode("gbk"), "gb18030"),
    (b"", "utf-8"),
])
def test_the_encoding_is_found_by_bom_nuls_then_content(encoded, name):
    assert detect_encoding(encoded) == name


def test_a_sample_cut_inside_a_character_is_still_read_as_what_it_is():
    sample = CHINESE.encode("gb18030") * 40
    assert detect_encoding(sample[:-1]) == "gb18030"  # the last character cut in half


def test_a_few_nuls_in_ascii_text_are_not_utf_16():
    sample = b"api_endpoint,http_status\n/a,400\x00\n" * 10
    assert detect_encoding(sample) == "utf-8"


@pytest.mark.parametrize("name, head, kind", [
    ("x.har", "", "har"), ("x.HAR", "a,b", "har"), ("x.jsonl", "a,b", "jsonl"), ("x.ndjson", "", "jsonl"),
    ("x.csv", "{", "csv"), ("x.tsv", "{", "csv"), ("x.TXT", '{"log": {', "csv"),
    ("export", '  {"log": {"entries": []}}', "har"), ("export", '{"status": 400}', "jsonl"),
    ("export.log", "\n{ \"log\" :", "har"), ("export", "api_endpoint,http_status", "csv"), ("export", "", "csv"),
])
def test_the_format_is_read_off_the_suffix_then_the_first_characters(name, head, kind):
    assert detect_format(Path(name), head) == kind


@pytest.mark.parametrize("header, delimiter", [
    ("a,b,c", ","), ("a\tb\tc", "\t"), ("a;b;c", ";"), ("a;b,c", ","), ("abc", ","), ("a\tb;c;d,e", ";"),
])
def test_the_delimiter_is_the_one_the_header_uses_most_comma_on_a_tie(header, delimiter):
    assert _delimiter(header) == delimiter


def test_a_gb18030_file_is_read_as_such_and_an_encoding_can_be_given(tmp_path):
    path = tmp_path / "errors.csv"
    path.write_bytes(f"{HEADER}\n".encode() + CHINESE.replace("E1,", "/a,400,").encode("gb18030"))
    with InputFile(path) as f:
        assert (f.encoding, f.kind) == ("gb18030", "csv")
        assert [r for c in f.chunks(5) for r in c][1] == (3, "/a,400,服务器内部错误，库存同步失败，请稍后重试")
    with InputFile(path, encoding="latin-1") as f:
        assert f.encoding == "iso8859-1"  # as given, by its codec's name
    path.write_bytes(f"\ufeff{HEADER}\n/a,400,x\n".encode())
    with InputFile(path, encoding="UTF8") as f:
        assert f.encoding == "utf-8-sig" and f.layout is not None
        assert [r for c in f.chunks(5) for r in c] == [(2, "/a,400,x")]


def test_bad_bytes_reach_the_record_and_do_not_stop_the_file(tmp_path):
    path = tmp_path / "errors.csv"
    path.write_bytes(f"{HEADER}\n".encode() + b"/a,400,caf\xe9 \xff\n/b,401,fine\n" + "é".encode() * 100)
    with InputFile(path, encoding="utf-8") as f:
        found = [r for c in f.chunks(5) for r in c]
    assert found[:2] == [(2, "/a,400,caf\udce9 \udcff"), (3, "/b,401,fine")]


@pytest.mark.parametrize("given, message", [
    ({"encoding": "klingon"}, "unknown encoding 'klingon'"), ({"kind": "xml"}, "unknown input format 'xml'"),
])
def test_an_unknown_encoding_or_format_is_refused_by_name(tmp_path, given, message):
    path = tmp_path / "errors.csv"
    path.write_text(f"{HEADER}\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        InputFile(path, **given)


def test_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read .*nope.csv"):
        InputFile(tmp_path / "nope.csv")


def test_position_counts_bytes_read_and_the_size_once_closed(tmp_path):
    path = tmp_path / "errors.csv"
    path.write_text(HEADER + "\n" + "/a,400,x\n" * 100_000, encoding="utf-8")
    f = InputFile(path)
    assert f.size == path.stat().st_size and 0 < f.position < f.size
    list(f.chunks(1000))
    assert f.position == f.size
    f.close()
    assert f.position == f.size


# -- HAR -------------------------------------------------------------------------------------


def entry(status, text="", url="https://api.lazada.sg/rest/orders/get"):
    return {"request": {"method": "GET", "url": url, "headers": []},
            "response": {"status": status, "headers": [], "content": {"text": text}}}


def test_har_entries_that_failed_are_numbered_among_all_entries(tmp_path):
    har = {"log": {"entries": [entry(200, '{"code": "0"}'), entry(503, "down"), "not an entry", entry(429)]}}
    path = tmp_path / "session.har"
    path.write_text(json.dumps(har), encoding="utf-8")
    with InputFile(path) as f:
        found = [r for c in f.chunks(10) for r in c]
        assert f.har_entries == 4
    assert [(n, p["status"], p.get("body")) for n, p in found] == [(2, 503, "down"), (4, 429, None)]


@pytest.mark.parametrize("text, message", [
    ("{", "not a HAR file: "), ("[1]", "no log.entries"), ('{"log": []}', "no log.entries"),
    ('{"log": {"entries": {}}}', "no log.entries"), ("[" * 100_000 + "]" * 100_000, "not a HAR file: "),
])
def test_what_is_not_a_har_file_is_refused(tmp_path, text, message):
    path = tmp_path / "session.har"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        InputFile(path)


# -- what the mutation run found untested ------------------------------------------------------


def test_records_come_in_chunks_of_the_size_asked(tmp_path):
    path = tmp_path / "errors.csv"
    path.write_text(HEADER + "\n" + "/a,400,x\n" * 5, encoding="utf-8")
    with InputFile(path) as f:
        assert [len(chunk) for chunk in f.chunks(2)] == [2, 2, 1]
        assert (f.encoding, f.har_entries) == ("utf-8", 0)


def test_after_a_refused_line_the_next_records_keep_their_numbers(tmp_path):
    text = f'{HEADER}\n/a,400,ok\n/b,400,"x"y\n/c,401,ok  \n/d,402,ABX\r\n'
    found = records(tmp_path, text)
    assert found[0] == (2, "/a,400,ok") and found[1][0] == 3 and isinstance(found[1][1], ReadError)
    assert found[2:] == [(4, "/c,401,ok  "), (5, "/d,402,ABX")], "only the line end is taken off"


@pytest.mark.parametrize("text, message", [
    ("", "^the file is empty: no header line$"),
    ('{"log": {}}', "^not a HAR file: no log.entries$"),
])
def test_refusals_word_for_word(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        records(tmp_path, text, "x.har" if "log" in text else "x.csv")


def test_a_file_without_a_suffix_is_told_apart_after_its_bom_in_any_encoding(tmp_path):
    har = '{"log": {"entries": []}}'
    for data, encoding, kind in ((("\ufeff" + har).encode(), "utf-8-sig", "har"),
                                 ('{"status": 400}\n'.encode("utf-16"), "utf-16", "jsonl")):
        path = tmp_path / "export"
        path.write_bytes(data)
        with InputFile(path) as f:
            assert (f.encoding, f.kind) == (encoding, kind)
            assert f.layout is None


def test_a_bom_the_decoder_keeps_is_taken_off_the_first_jsonl_line(tmp_path):
    path = tmp_path / "errors.jsonl"
    path.write_bytes('\ufeff{"status": 400}\n{"status": 401}\n'.encode("gb18030"))
    with InputFile(path, encoding="gb18030") as f:
        assert [r for c in f.chunks(5) for r in c] == [(1, '{"status": 400}\n'), (2, '{"status": 401}\n')]


def test_line_breaks_inside_a_quoted_cell_are_kept_as_written(tmp_path):
    assert records(tmp_path, f'{HEADER}\r\n/a,400,"two\r\nlines"\r\n') == [(2, '/a,400,"two\r\nlines"')]


def test_an_unknown_format_is_refused_with_the_known_ones():
    with pytest.raises(InputError, match=r"^unknown input format 'xml'; use one of csv, jsonl, har$"):
        InputFile(Path(__file__), kind="xml")
