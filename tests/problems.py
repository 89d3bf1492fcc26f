"""Reading the API's errors in tests (the shape itself is tested in tests/test_api_errors.py)."""

from dropship.core.problems import PROBLEM_CONTENT_TYPE


def problem(response) -> dict:
    """The person-facing part of an API error, after checking it is a problem document."""
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["status"] == response.status_code
    return {"detail": body["detail"], "field": body["field"]}
