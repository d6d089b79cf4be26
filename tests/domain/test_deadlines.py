from hypothesis import given
from hypothesis import strategies as st

from sandwarden.domain.deadlines import Limits, Stop


def test_nothing_fires_before_either_limit() -> None:
    deadlines = Limits(hard=10.0, inactivity=3.0).start(100.0)

    assert deadlines.expired(102.9) is None


def test_silence_longer_than_the_inactivity_limit_is_a_stall() -> None:
    deadlines = Limits(hard=10.0, inactivity=3.0).start(100.0)

    assert deadlines.expired(103.0) is Stop.STALLED


def test_output_pushes_the_stall_deadline_but_not_the_hard_one() -> None:
    deadlines = Limits(hard=10.0, inactivity=3.0).start(100.0)

    touched = deadlines.touched(102.0).touched(105.0).touched(108.0)

    assert touched.expired(110.5) is Stop.HARD_TIMEOUT
    assert touched.next_at() == 110.0


def test_no_limits_never_fire() -> None:
    deadlines = Limits(hard=None).start(0.0)

    assert deadlines.expired(1e12) is None
    assert deadlines.remaining(5.0) is None


def test_a_limit_must_be_positive() -> None:
    try:
        Limits(hard=0.0)
    except ValueError as error:
        assert "hard" in str(error)
    else:
        raise AssertionError("a zero limit was accepted")


@given(
    hard=st.floats(0.1, 1e6),
    inactivity=st.floats(0.1, 1e6),
    start=st.floats(0, 1e9),
    gaps=st.lists(st.floats(0, 1e5), max_size=20),
)
def test_a_limit_fires_exactly_at_the_instant_next_at_names(
    hard: float,
    inactivity: float,
    start: float,
    gaps: list[float],
) -> None:
    deadlines = Limits(hard, inactivity).start(start)
    now = start
    for gap in gaps:
        now += gap
        if deadlines.expired(now) is not None:
            break
        deadlines = deadlines.touched(now)

    at = deadlines.next_at()

    assert at is not None
    assert deadlines.expired(at) is not None
    assert deadlines.expired(at - 1e-3 * max(1.0, at) * 1e-6) is None
