from __future__ import annotations

import pytest

from tests import support
from tests.support import Account, Api, Sample


def test_slatest_spec_example_exact_text(api: Api, alice: Account, transport: str) -> None:
    written = [("int", 48), ("string", "VariPass is awesome!"), ("bool", False)]
    ids = []
    for type_, value in written:
        ids.append(api.create(alice.key, type=type_))
        api.call("write", alice.key, id=ids[-1], value=value)

    answer = api.simple("slatest", alice.key, transport)

    assert answer == f"success|3|{ids[0]}|48|{ids[1]}|VariPass is awesome!|{ids[2]}|false|"


@pytest.mark.parametrize("sample", support.SAMPLES, ids=str)
def test_slatest_value_text_of_each_type(api: Api, alice: Account, sample: Sample) -> None:
    var = api.create(alice.key, type=sample.type)
    api.call("write", alice.key, id=var, value=sample.sent)

    assert api.simple("slatest", alice.key) == f"success|1|{var}|{sample.text}|"


def test_slatest_never_written_zero_values(api: Api, alice: Account) -> None:
    ids = [api.create(alice.key, type=t) for t in ("int", "float", "bool", "string")]

    answer = api.simple("slatest", alice.key)

    assert answer == f"success|4|{ids[0]}|0|{ids[1]}|0.0|{ids[2]}|false|{ids[3]}||"


def test_slatest_no_variables_count_zero(api: Api, alice: Account, transport: str) -> None:
    assert api.simple("slatest", alice.key, transport) == "success|0|"
