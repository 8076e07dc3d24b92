from dashboard.scope import Scope


def test_everything_passes_requests_through():
    s = Scope.everything()
    assert s.restrict(None) is None
    assert s.restrict([]) is None
    assert s.restrict(["NYC", "OKC", "NYC"]) == ["NYC", "OKC"]


def test_restricted_scope_never_widens():
    s = Scope.for_clinics(["OKC"])
    assert s.restrict(None) == ["OKC"]
    assert s.restrict(["OKC", "NYC"]) == ["OKC"]
    assert s.restrict(["NYC"]) == []  # outside the scope: nothing, not everything
    assert s.restrict(["'; drop table x; --"]) == []
    assert not s.allows("NYC") and s.allows("OKC")
