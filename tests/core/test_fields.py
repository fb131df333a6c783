"""Query strings are validated by serializers (apps/core/fields.py), so the OpenAPI schema lists them."""

import pytest
from rest_framework.exceptions import ValidationError

from apps.core.fields import QueryBool, QueryChoice, QueryInput, QueryInt, QueryNumber


class Shape(QueryInput):
    count = QueryInt(low=1, high=10)
    ratio = QueryNumber()
    on = QueryBool()
    kind = QueryChoice(choices=["a", "b"])


@pytest.mark.parametrize(
    "query, sentence",
    [
        ({"count": "x"}, "count must be a whole number between 1 and 10, not 'x'."),
        ({"count": "11"}, "count must be a whole number between 1 and 10, not '11'."),
        ({"ratio": "half"}, "ratio must be a number, not 'half'."),
        ({"on": "maybe"}, "on must be true or false, not 'maybe'."),
        ({"kind": "c"}, "kind must be one of a, b, not 'c'."),
    ],
)
def test_a_bad_query_value_is_one_sentence_naming_the_parameter(query, sentence):
    with pytest.raises(ValidationError) as raised:
        Shape.parse(query)
    assert raised.value.detail == {"detail": sentence}


def test_empty_and_absent_values_mean_not_given():
    assert Shape.parse({"count": "", "on": "yes", "ratio": "0.5"}) == {"on": True, "ratio": 0.5}


def test_the_schema_lists_the_query_parameters(admin_client):
    schema = admin_client.get("/api/schema/?format=json").json()
    names = {p["name"] for p in schema["paths"]["/api/v1/jobs/"]["get"]["parameters"]}
    assert {"project", "recording", "status", "kind"} <= names
    names = {p["name"] for p in schema["paths"]["/api/v1/projects/{project_id}/qa/"]["get"]["parameters"]}
    assert {"flag", "flagged", "accepted", "min_snr_db", "max_snr_db"} <= names
