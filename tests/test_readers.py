"""service/batch/readers.py on its own: the line number each record is reported under is
the line of the file it starts on, whatever came before it (blank lines, a header spread
over lines, a record with line breaks in a quoted cell, a line the csv module refused)."""

import pytest

from service.batch.readers import InputError, InputFile, ReadError

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
