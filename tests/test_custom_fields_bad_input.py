"""Custom decimal values the column (24 digits, 6 places) cannot hold exactly are refused with a
422 on the field, in writes and in filters, instead of a 500 or a silently rounded value."""
import pytest


@pytest.fixture
def customer(client):
    response = client.post("/api/v1/custom-fields", json={"name": "d", "type": "decimal"})
    assert response.status_code == 201, response.json
    response = client.post("/api/v1/customers", json={"first_name": "Ada"})
    return response.json["id"]


TOO_BIG = ["1e30", "1e999999", "-1e18", "1000000000000000000"]
TOO_PRECISE = ["123456789012345678.1234567", "0.0000001", "1e-999999"]


@pytest.mark.parametrize("raw", TOO_BIG + TOO_PRECISE)
def test_decimal_beyond_the_column_is_422_on_create_and_update(client, customer, raw):
    response = client.post("/api/v1/customers", json={"first_name": "X", "custom": {"d": raw}})
    assert response.status_code == 422, response.json
    message = response.json["errors"]["json"]["custom.d"][0]
    assert ("digits before the decimal point" if raw in TOO_BIG else "decimal places") in message
    response = client.patch(f"/api/v1/customers/{customer}", json={"custom": {"d": raw}})
    assert response.status_code == 422, response.json
    assert "custom.d" in response.json["errors"]["json"]


@pytest.mark.parametrize("raw", ["1e999999", "1e30", "0.0000001"])
@pytest.mark.parametrize("op", ["", "__gte", "__lte"])
def test_decimal_filter_beyond_the_column_is_422(client, customer, raw, op):
    response = client.get(f"/api/v1/customers?custom.d{op}={raw}")
    assert response.status_code == 422, response.json
    assert "custom.d" in response.json["errors"]["query"]


def test_only_values_that_would_be_rounded_are_too_precise(client, customer):
    url = f"/api/v1/customers/{customer}"
    assert client.patch(url, json={"custom": {"d": "1.5000001"}}).status_code == 422
    for raw, stored in (("1.50000000", "1.500000"), ("1E+3", "1000.000000"),
                        ("-123456789.123456", "-123456789.123456")):
        response = client.patch(url, json={"custom": {"d": raw}})
        assert response.status_code == 200, response.json
        assert client.get(url).json["custom"]["d"] == stored
