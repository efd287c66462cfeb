"""The closed loop of a joint debugging session, run for real against a fake marketplace
(tests/fake_marketplace.py), captured as HAR, broken one step at a time: the report names
the failing step and its cause, and `compare` against the unbroken capture names the
difference that explains it."""

import json

import pytest
from click.testing import CliRunner

from service.batch.kb import resolve
from service.cli import main
from service.debugging import capture, compare, report
from tests.conftest import KB_DIR
from tests.fake_marketplace import APP_SECRET, BREAKS, EXPIRED_TOKEN, GOOD_TOKEN, Erp, Marketplace, Recorder
from tests.live_server import serving

# broken step -> (first failing step, root-cause category, kind of the difference that explains it)
EXPECTED = {
    "expired_token": (2, "auth.token_expired", "token"),
    "clock_skew": (1, "signature.timestamp_out_of_range", "clock"),
    "missing_field": (3, "validation.missing_field", "body-missing"),
    "gzip_body": (3, "validation.malformed_request", "content-encoding"),
    "wrong_region": (1, "region.endpoint_mismatch", "host"),
    "webhook_500": (5, "webhook.delivery_failed", "status"),
}


@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    """HAR files of the unbroken loop (key None) and of each broken one."""
    folder = tmp_path_factory.mktemp("captures")
    marketplace = Marketplace()
    paths = {}
    with serving(marketplace) as base_url:
        for broken in (None, *BREAKS):
            recorder = Recorder(base_url)
            Erp(recorder, broken).run_loop(marketplace)
            paths[broken] = folder / f"{broken or 'unbroken'}.har"
            paths[broken].write_text(json.dumps(recorder.har()), encoding="utf-8")
    return paths


@pytest.fixture(scope="module")
def engine():
    return resolve(None, KB_DIR).engine()


def test_the_unbroken_loop_succeeds_and_nobody_has_to_act(captures, engine):
    built = report.build(capture.read(captures[None]), engine)
    assert built["calls"] == 5 and built["failed"] == 0
    assert built["verdict"]["owner"] is None
    assert [row["state"] for row in built["timeline"]] == ["ok"] * 5


@pytest.mark.parametrize("broken", BREAKS)
def test_the_report_names_the_failing_step_and_its_cause(captures, engine, broken):
    step, category, _kind = EXPECTED[broken]
    built = report.build(capture.read(captures[broken]), engine)
    assert built["first_failure"] == step
    assert built["verdict"]["category"] == category
    assert built["verdict"]["owner"] == "integrator"
    states = [row["state"] for row in built["timeline"]]
    assert states[step - 1] == "first failure"
    assert all(state == "ok" for state in states[:step - 1])
    assert all(state.startswith("consequence") for state in states[step:])
    first = built["failures"][0]
    assert first["number"] == step and first["diagnosis"]["category"] == category
    assert first["identifiers"]["sent_utc"].endswith("Z")
    if broken != "webhook_500":  # the marketplace's push to the ERP carries no app key
        assert first["identifiers"]["app_key"] == "100240"
        assert first["identifiers"]["request_id"]  # the envelope's request_id, for the platform's support


@pytest.mark.parametrize("broken", BREAKS)
def test_compare_with_the_unbroken_capture_names_the_difference(captures, engine, broken):
    _step, category, kind = EXPECTED[broken]
    bad = compare.pick(capture.read(captures[broken]), failed=True)
    good = compare.pick(capture.read(captures[None]), operation=bad.operation, failed=False)
    result = compare.compare(good, bad, engine)
    top = result["differences"][0]
    assert (top["kind"], top["explains"]) == (kind, True)
    assert top["rule_id"] == result["diagnosis"]["rule_id"] and result["diagnosis"]["category"] == category
    assert result["verdict"].startswith(f"{top['what']} explains the failure: rule {top['rule_id']}")


def test_the_missing_field_is_named_by_its_path(captures, engine):
    bad = compare.pick(capture.read(captures["missing_field"]), failed=True)
    good = compare.pick(capture.read(captures[None]), operation=bad.operation, failed=False)
    top = compare.compare(good, bad, engine)["differences"][0]
    assert top["what"] == "body field payload.Request.Product.Skus.Sku[0].SkuId missing"


def test_the_gzip_body_is_shown_decoded(captures, engine):
    built = report.build(capture.read(captures["gzip_body"]), engine)
    decoded = built["failures"][0]["decoded"]["request"]
    assert decoded["steps"][:3] == ["base64 (as captured)", "gzip", "form (percent-decoded)"]
    assert decoded["value"]["payload"]["Request"]["Product"]["Skus"]["Sku"][0]["SkuId"] == "1001"
    assert decoded["value"]["access_token"] != GOOD_TOKEN


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_the_command_writes_the_verdict_first_and_nothing_secret(captures, fmt):
    result = CliRunner().invoke(main, ["report", str(captures["expired_token"]), "--format", fmt,
                                       "--dir", str(KB_DIR)])
    assert result.exit_code == 0, result.output
    head = result.output[:1500]
    assert "Verdict:" in head and "integrator acts first: step 2" in head
    for secret in (GOOD_TOKEN, EXPIRED_TOKEN, APP_SECRET):
        assert secret not in result.output
    har = json.loads(captures["expired_token"].read_text())
    signatures = [q["value"] for e in har["log"]["entries"] for q in e["request"]["queryString"] if q["name"] == "sign"]
    assert signatures and not any(sign in result.output for sign in signatures)
    assert ("<td>consequence (failed)</td>" if fmt == "html" else "| consequence (failed) |") in result.output


def test_compare_command_prints_the_ranked_differences(captures):
    result = CliRunner().invoke(main, ["compare", str(captures[None]), str(captures["gzip_body"]),
                                       "--dir", str(KB_DIR)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[2].startswith("verdict: header content-encoding added explains the failure")
    assert lines[3].startswith(" 1. [content-encoding] header content-encoding added: None -> gzip  <- explains it")


def test_signcheck_of_a_captured_call_with_the_secret_from_the_environment(captures, monkeypatch):
    monkeypatch.setenv("LAZADA_APP_SECRET", APP_SECRET)
    result = CliRunner().invoke(main, ["signcheck", str(captures[None]), "--call", "2",
                                       "--secret-env", "LAZADA_APP_SECRET"])
    assert result.exit_code == 0, result.output
    assert "scheme lazada" in result.output and "signature valid" in result.output
    assert APP_SECRET not in result.output and GOOD_TOKEN not in result.output


def test_signcheck_with_another_secret_from_stdin_says_the_secret_differs(captures):
    result = CliRunner().invoke(main, ["signcheck", str(captures[None]), "--call", "2", "--secret-stdin"],
                                input="not-the-app-secret\n")
    assert result.exit_code == 1
    assert "INVALID: the secret differs" in result.output and "not-the-app-secret" not in result.output


def test_signcheck_refuses_a_secret_from_nowhere(captures):
    result = CliRunner().invoke(main, ["signcheck", str(captures[None])])
    assert result.exit_code != 0 and "--secret-env NAME or --secret-stdin" in result.output


def _doc_block(starting: str) -> list[str]:
    from tests.conftest import ROOT

    section = (ROOT / "docs" / "debugging.md").read_text(encoding="utf-8")
    start = section.index(f"```\n$ {starting}")
    return section[start + 4:section.index("```", start + 4)].splitlines()[1:]


def test_the_documented_examples_are_what_the_commands_print(captures):
    """docs/debugging.md: postman.har is the unbroken loop, erp.har the gzip one."""
    kb = ["--dir", str(KB_DIR)]
    compared = CliRunner().invoke(main, ["compare", str(captures[None]), str(captures["gzip_body"]), *kb])
    assert compared.output.splitlines() == _doc_block("opsdiag compare")
    reported = CliRunner().invoke(main, ["report", str(captures["gzip_body"]), *kb]).output.splitlines()
    shown = _doc_block("opsdiag report")
    assert reported[2] == shown[2]  # the verdict
    states = [line.rsplit("|", 2)[-2].strip() for line in reported if line.startswith("| 3 ") or
              line.startswith("| 4 ")]
    assert states == [line.rsplit("|", 2)[-2].strip() for line in shown if line.startswith("| ")]
    checked = CliRunner().invoke(main, ["signcheck", str(captures[None]), "--call", "2", "--secret-stdin"],
                                 input="wrong\n")
    assert checked.output.splitlines()[:2] == _doc_block("echo")[:2]
