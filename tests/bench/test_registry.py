import pytest

from bench.errors import BenchError
from bench.registry import Registry


def test_register_and_get():
    reg = Registry("widget")

    @reg.register("alpha")
    class Alpha:
        pass

    assert reg.get("alpha") is Alpha
    assert reg.names() == ["alpha"]
    assert "alpha" in reg


def test_unknown_name_lists_close_matches_and_choices():
    reg = Registry("model")
    reg.register("mopoe")(object)
    reg.register("mvae")(int)
    with pytest.raises(BenchError) as err:
        reg.get("mopo")
    assert "Did you mean: mopoe" in str(err.value)
    assert "mopoe, mvae" in err.value.fix


def test_duplicate_name_names_both_objects():
    reg = Registry("model")
    reg.register("a")(int)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a")(float)


@pytest.mark.parametrize("bad", ["", " a", "a/b", "a,b", "a b", "a\nb", "a|b", "a\\b", ".a", "a=b"])
def test_invalid_names_rejected(bad):
    with pytest.raises(BenchError, match="cannot name files"):
        Registry("model").register(bad)


def test_dotted_names_allowed():
    reg = Registry("model")
    reg.register("mean.v2")(int)
    assert reg.get("mean.v2") is int
