import yaml


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_reports_the_served_version(client, local_kb):
    body = client.get("/readyz").get_json()
    assert body["kb_version"] == local_kb.engine.version
    assert body["rule_count"] == len(local_kb.engine.rules) > 0
    assert body["kb_source"] == "kb_content"


def test_openapi_is_served(client):
    response = client.get("/openapi.yaml")
    assert response.status_code == 200
    assert yaml.safe_load(response.data)["paths"]["/diagnose"]["post"]
