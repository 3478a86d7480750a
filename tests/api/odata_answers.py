"""Checks of OData answers shared by the OData tests."""


def odata_error(response, status):
    """The message of an OData error answer (JSON Format 21.1), after checking its status,
    media type, ``OData-Version`` and shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json", response.headers
    assert response.headers["odata-version"] == "4.0"
    body = response.json()
    assert list(body) == ["error"] and {"code", "message"} <= set(body["error"]), body
    assert set(body["error"]) <= {"code", "message", "target", "details"}, body
    return body["error"]["message"]
