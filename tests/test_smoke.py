import requests


def test_sandbox_health(sandbox):
    response = requests.get(f"{sandbox.url}/_sandbox/health", timeout=2)
    assert response.json() == {"ok": True}
